'use strict';
// A cart is a list of lines: { sku, unitPrice (cents), quantity }.
const { bulkDiscount } = require('./discount');

const SHIPPING = 499;
const FREE_SHIPPING_FROM = 5000;

function itemCount(lines) {
  return lines.reduce((count, line) => count + line.quantity, 0);
}

function subtotal(lines) {
  return lines.reduce((sum, line) => sum + line.unitPrice * line.quantity, 0);
}

/** What the customer pays, in cents: subtotal, minus the bulk discount, plus shipping. */
function total(lines) {
  const gross = subtotal(lines);
  const discounted = gross - bulkDiscount(gross, itemCount(lines));
  const shipping = discounted >= FREE_SHIPPING_FROM || lines.length === 0 ? 0 : SHIPPING;
  return discounted + shipping;
}

module.exports = { itemCount, subtotal, total, SHIPPING, FREE_SHIPPING_FROM };
