#!/usr/bin/env node
// Load each .heapsnapshot with memlab's own loader and print, one line per file, every
// node's id, retained size and immediate dominator's id as one JSON object:
//   {"file": name, "memlab": version, "nodes": n, "ids": [...], "retained": [...],
//    "dominators": [...]}
// (memlab computes the dominator tree and retained sizes itself: Lengauer-Tarjan over the
// edges it deems essential, skipping weak edges.) gclab's tests compare the numbers with an
// independent computation (tests/snapshots/test_devtools.py).
//
// usage: node retained.js FILE.heapsnapshot...
'use strict';

const path = require('path');
const core = require('@memlab/core');
const {getFullHeapFromFile} = require('@memlab/heap-analysis');

async function retained(file) {
  const heap = await getFullHeapFromFile(path.resolve(file));
  const count = heap.nodes.length;
  const ids = new Array(count);
  const retainedSizes = new Array(count);
  const dominators = new Array(count);
  heap.nodes.forEach((node, i) => {
    ids[i] = node.id;
    retainedSizes[i] = node.retainedSize;
    const dominator = node.dominatorNode;
    dominators[i] = dominator == null ? -1 : dominator.id;
  });
  const version = require('@memlab/core/package.json').version;
  return {file, memlab: version, nodes: count, ids, retained: retainedSizes, dominators};
}

async function main() {
  const files = process.argv.slice(2);
  if (!files.length) {
    process.stderr.write('usage: node retained.js FILE.heapsnapshot...\n');
    process.exit(2);
  }
  core.config.muteConsole = true;  // memlab's progress lines would mix with the JSON
  for (const file of files) {
    process.stdout.write(JSON.stringify(await retained(file)) + '\n');
  }
}

main().catch(error => {
  process.stderr.write(`retained.js: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
