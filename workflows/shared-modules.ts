/**
 * The modules workflows/shared.ts loads once per workflow thread: the src modules the workflows
 * import at run time (type-only imports load nothing), through them zod, and the session's pure
 * rules. Side-effect imports: loading them is the point. Every one must hold no per-workflow state
 * and must not import @temporalio/workflow (see workflows/shared.ts; test/unit/workflow-bundle.test.ts).
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
// The session's rules (docs/architecture.md, "record"): pure functions and the record's schemas;
// none imports the workflow API or holds module state. What calls the workflow API stays per session.
import './session/record';
import './session/change-set';
import './session/progress';
import './session/commands';
import './session/tool-work';
import './session/workspace';
import './session/details';
