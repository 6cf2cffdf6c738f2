'use strict';
// The checkout tests: plain Node.js, no dependencies. Prints one line per test and exits 1 if any fails.
const assert = require('node:assert/strict');
const { subtotal, total } = require('./src/cart');
const { bulkDiscount } = require('./src/discount');

const line = (quantity, unitPrice = 1000) => ({ sku: `sku-${unitPrice}`, unitPrice, quantity });

const tests = [
  ['subtotal adds up every line', () => assert.equal(subtotal([line(2, 1250), line(1, 499)]), 2999)],
  ['a small order pays shipping', () => assert.equal(total([line(1, 1999)]), 1999 + 499)],
  ['an order of 9 items gets no bulk discount', () => assert.equal(bulkDiscount(9000, 9), 0)],
  ['an order of exactly 10 items gets the bulk discount', () => assert.equal(bulkDiscount(10000, 10), 1000)],
  ['an order of 12 items gets the bulk discount', () => assert.equal(bulkDiscount(12000, 12), 1200)],
  ['the total of 10 items at 10.00 is 90.00, shipping free', () => assert.equal(total([line(10)]), 9000)],
];

let failed = 0;
tests.forEach(([name, run], i) => {
  try {
    run();
    console.log(`ok ${i + 1} - ${name}`);
  } catch (error) {
    failed++;
    console.log(`not ok ${i + 1} - ${name}`);
    for (const text of error.message.split('\n').filter((l) => l.trim() !== '')) console.log(`  ${text}`);
  }
});
console.log(`\n${tests.length - failed} of ${tests.length} tests passed`);
process.exitCode = failed > 0 ? 1 : 0;
