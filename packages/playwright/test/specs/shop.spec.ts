// The fixture as its users use it: a page publishes, the test asserts what arrived.
import { expect, test } from '../../src/index.js';
import { openShop, placeOrder } from '../shop-page.js';

test('placing an order publishes it: toHaveReceived, toHaveReceivedTimes, messages()', async ({ page, rmq }) => {
  const orders = rmq.topic('orders');
  await openShop(page, rmq.gateway!, orders.name);
  await page.click('#order');
  await expect(orders).toHaveReceived({ tags: 'created', json: { id: 42 } }, { timeout: 10_000 });
  await expect(orders).toHaveReceivedTimes(1, { tags: 'created' });
  await expect(orders).not.toHaveReceived({ json: { id: 43 } });
  const [m] = await orders.messages();
  expect(m!.keys).toBe('order-42');
  expect(m!.json()).toEqual({ id: 42, total: 9.5 });
});

test('each test has topics of its own: this one sees only its own two orders', async ({ page, rmq }) => {
  const orders = rmq.topic('orders');
  await openShop(page, rmq.gateway!, orders.name);
  await placeOrder(page);
  await placeOrder(page);
  await expect(orders).toHaveReceivedTimes(2);
  await expect(orders).toHaveReceived((m) => m.keys === 'order-43');
  expect((await orders.messages()).map((m) => m.json())).toEqual(expect.arrayContaining([{ id: 42, total: 9.5 }, { id: 43, total: 9.5 }]));
});

test('a shared topic is read from where it stood when the test took it: earlier messages are not this test\'s', async ({ page, rmq }) => {
  await openShop(page, rmq.gateway!, 'shop-shared-orders');
  await placeOrder(page); // id 42: before the test looks
  const shared = await rmq.topic('shop-shared-orders', { shared: true }).ready();
  await placeOrder(page); // id 43
  await expect(shared).toHaveReceived({ json: { id: 43 } });
  await expect(shared).toHaveReceivedTimes(1);
});
