'use strict';
// The bulk discount: orders of BULK_MIN_ITEMS items or more get BULK_PERCENT off the subtotal.

const BULK_MIN_ITEMS = 10;
const BULK_PERCENT = 10;

/** The discount in cents for a subtotal (cents) and an item count, rounded down to a cent. */
function bulkDiscount(subtotalCents, itemCount) {
  if (itemCount > BULK_MIN_ITEMS) {
    return Math.floor((subtotalCents * BULK_PERCENT) / 100);
  }
  return 0;
}

module.exports = { bulkDiscount, BULK_MIN_ITEMS, BULK_PERCENT };
