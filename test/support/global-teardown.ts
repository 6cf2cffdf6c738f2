export default async function globalTeardown(): Promise<void> {
  await globalThis.__ANDON_TEST_SERVER__?.stop();
}
