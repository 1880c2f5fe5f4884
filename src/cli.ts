import { main } from './cli/main.js'
import { productionDeps } from './cli/wiring.js'

// The bin entry: set the exit code and let Node flush stdout before it exits.
process.exitCode = await main(process.argv.slice(2), productionDeps())
