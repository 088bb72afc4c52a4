// A jest reporter (jest.config.js): after the run, the ten slowest test files with their seconds,
// so that a suite that grows slow is seen at the next `npm test`.
const { relative } = require("node:path");

const SHOWN = 10;

class SlowestSuitesReporter {
  /** @param {import('@jest/reporters').Config.GlobalConfig} globalConfig */
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  /** @param {unknown} _contexts @param {import('@jest/reporters').AggregatedResult} results */
  onRunComplete(_contexts, results) {
    const suites = results.testResults
      .map((suite) => ({
        file: relative(this.rootDir, suite.testFilePath),
        seconds: (suite.perfStats.end - suite.perfStats.start) / 1000,
      }))
      .sort((a, b) => b.seconds - a.seconds)
      .slice(0, SHOWN);
    if (suites.length === 0) return;
    const width = Math.max(...suites.map((s) => s.seconds.toFixed(1).length));
    const lines = suites.map((s) => `  ${s.seconds.toFixed(1).padStart(width)} s  ${s.file}`);
    process.stderr.write(
      `\nSlowest test files (wall seconds, ${results.numTotalTestSuites} files):\n${lines.join("\n")}\n`,
    );
  }
}

module.exports = SlowestSuitesReporter;
