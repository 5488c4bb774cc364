// Compile and render Vega-Lite specs with the report's embedded vega and vega-lite.
// Usage: node render_vega_lite.js <directory of Splink's external_js> < specs.json
// Prints one JSON line per spec: {name, problems, marks} (problems: warnings and errors).
"use strict";
const fs = require("fs");
const vm = require("vm");

const [directory, vega, vegaLite] = process.argv.slice(2);
const context = { console, setTimeout, clearTimeout, structuredClone };
context.globalThis = context;
context.self = context;
vm.createContext(context);
for (const name of [vega, vegaLite]) {
  vm.runInContext(fs.readFileSync(`${directory}/${name}`, "utf8"), context);
}
const specs = JSON.parse(fs.readFileSync(0, "utf8"));

(async () => {
  for (const [name, spec] of Object.entries(specs)) {
    const problems = [];
    const logger = {
      level() { return this; },
      warn(...message) { problems.push(message.join(" ")); return this; },
      error(...message) { problems.push(message.join(" ")); return this; },
      info() { return this; },
      debug() { return this; },
    };
    let marks = 0;
    try {
      const compiled = context.vegaLite.compile(spec, { logger });
      const view = new context.vega.View(context.vega.parse(compiled.spec), {
        renderer: "none",
        logger,
      });
      const svg = await view.toSVG();
      marks = (svg.match(/<(path|line|rect)\b/g) || []).length;
    } catch (error) {
      problems.push(String(error));
    }
    console.log(JSON.stringify({ name, problems, marks }));
  }
})();
