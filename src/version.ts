/** keyward's version, kept equal to package.json by __tests__/version.test.ts. */
export const VERSION = '0.1.0'
