/**
 * The workflow bundler's process (src/temporal/bundle.ts): reads one BundleRequest from its
 * parent, answers with the bundle's code or the error, and exits, taking webpack's memory with it.
 */
import { bundleWorkflowCode } from '@temporalio/worker';
import { BundleRequest, type BundleReply } from './bundle';

const quiet = () => undefined;
// The SDK's bundler logs webpack's output at info: the parent reports only failures.
const logger = { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: (message: string) => console.error(message) };

function reply(message: BundleReply): Promise<void> {
  return new Promise((resolve) => process.send!(message, undefined, undefined, () => resolve()));
}

process.once('message', (message: unknown) => {
  const parsed = BundleRequest.safeParse(message);
  const work = parsed.success
    ? bundleWorkflowCode({ ...parsed.data, logger }).then(
        ({ code }) => reply({ type: 'bundle', code }),
        (error: Error) => reply({ type: 'error', message: error.message }),
      )
    : reply({ type: 'error', message: `invalid request: ${parsed.error.issues[0]?.message}` });
  void work.then(() => process.disconnect());
});
