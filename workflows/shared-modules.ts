/**
 * The modules workflows/shared.ts loads once per workflow thread: the src modules the workflows
 * import at run time (type-only imports load nothing), and through them zod. Side-effect imports:
 * loading them is the point. Every one must hold no per-workflow state (see workflows/shared.ts).
 */
import '../src/session/schema';
import '../src/session/approval';
import '../src/session/duration';
import '../src/session/search-attributes';
import '../src/session/transitions';
import '../src/protocol/messages';
import '../src/protocol/inputs';
import '../src/protocol/failures';
import '../src/protocol/refusals';
import '../src/agents/agent';
import '../src/notify/notifier';
