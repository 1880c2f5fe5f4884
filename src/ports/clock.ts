/** The one place that knows the time; tests pass a fixed clock. */
export interface Clock {
  now(): Date
}
