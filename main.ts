import { App } from "cdktf";
import { ConfigError, loadConfig } from "./config";
import { createStacks } from "./stacks";

// The only place that reads the environment: config is loaded here and passed down typed.
function main(): void {
  let config;
  try {
    config = loadConfig({ env: process.env, cwd: process.cwd() });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
  const app = new App();
  createStacks(app, config);
  app.synth();
}

main();
