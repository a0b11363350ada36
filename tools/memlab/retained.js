#!/usr/bin/env node
// Load a .heapsnapshot with memlab's own loader and print every node's id, retained size
// and immediate dominator's id as one JSON object:
//   {"memlab": version, "nodes": n, "ids": [...], "retained": [...], "dominators": [...]}
// (memlab computes the dominator tree and retained sizes itself: Lengauer-Tarjan over the
// edges it deems essential, skipping weak edges.) gclab's tests compare the numbers with an
// independent computation (tests/snapshots/test_devtools.py).
//
// usage: node retained.js FILE.heapsnapshot [OUT.json]      (stdout when OUT is not given)
'use strict';

const fs = require('fs');
const path = require('path');
const core = require('@memlab/core');
const {getFullHeapFromFile} = require('@memlab/heap-analysis');

async function main() {
  const [file, out] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node retained.js FILE.heapsnapshot [OUT.json]\n');
    process.exit(2);
  }
  core.config.muteConsole = true;  // memlab's progress lines would mix with the JSON
  const heap = await getFullHeapFromFile(path.resolve(file));
  const count = heap.nodes.length;
  const ids = new Array(count);
  const retained = new Array(count);
  const dominators = new Array(count);
  heap.nodes.forEach((node, i) => {
    ids[i] = node.id;
    retained[i] = node.retainedSize;
    const dominator = node.dominatorNode;
    dominators[i] = dominator == null ? -1 : dominator.id;
  });
  const version = require('@memlab/core/package.json').version;
  const text = JSON.stringify({memlab: version, nodes: count, ids, retained, dominators});
  if (out) {
    fs.writeFileSync(out, text + '\n');
  } else {
    process.stdout.write(text + '\n');
  }
}

main().catch(error => {
  process.stderr.write(`retained.js: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
