import type { Command } from 'commander';
import { MemoryScope } from '../../protocol/inputs';
import type { Cli } from '../context';
import { UsageError } from '../errors';

export function register(program: Command, cli: Cli): void {
  program
    .command('remember')
    .description('remember something for this session, its agent or its service (sessions recall it when they plan)')
    .argument('<id>', 'session id')
    .argument('<text...>', 'what to remember (words are joined with spaces)')
    .option('--scope <scope>', `who recalls it: ${MemoryScope.options.join(', ')} (default session)`, scope)
    .action(
      cli.action<{ scope?: MemoryScope }>(async ([id, words], options) => {
        const session = cli.session(id as string);
        const written = await session.writeMemory((words as string[]).join(' '), { scope: options.scope });
        const scopeName = options.scope ?? 'session';
        cli.print(
          { sessionId: session.id, scope: scopeName, ...written },
          () => `remembered ${written.memoryId} (${scopeName} scope) from session ${session.id}`,
        );
      }),
    );
}

function scope(text: string): MemoryScope {
  const parsed = MemoryScope.safeParse(text.trim());
  if (!parsed.success) throw new UsageError(`invalid --scope "${text}": expected one of ${MemoryScope.options.join(', ')}`, 'scope');
  return parsed.data;
}
