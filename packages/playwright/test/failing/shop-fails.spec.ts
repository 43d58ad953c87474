// Deliberately failing (run by src/fixture.test.ts, which checks the failure message): the page
// publishes order 42, the test expects 43 and must say what was received instead.
import { expect, test } from '../../src/index.js';
import { openShop, placeOrder } from '../shop-page.js';

test('expects an order that was never placed', async ({ page, rmq }) => {
  const orders = rmq.topic('orders');
  await openShop(page, rmq.gateway!, orders.name);
  await placeOrder(page);
  await expect(orders).toHaveReceived({ tags: 'created', json: { id: 43 } }, { timeout: 2000 });
});

test('expects two orders where one was placed', async ({ page, rmq }) => {
  const orders = rmq.topic('orders');
  await openShop(page, rmq.gateway!, orders.name);
  await placeOrder(page);
  await expect(orders).toHaveReceivedTimes(2, undefined, { timeout: 2000 });
});
