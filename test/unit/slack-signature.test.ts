/**
 * Slack's v0 request signatures: Slack's own documented example verifies, and a request is
 * refused when its signature is wrong, its timestamp is outside the five-minute window, or it was
 * already accepted once (a replay).
 */
import { SlackSignatureVerifier, signature } from '../../src/slack/signature';

// The example in https://docs.slack.dev/authentication/verifying-requests-from-slack
const DOC = {
  secret: '8f742231b10e8888abcd99yyyzzz85a5',
  timestamp: 1531420618,
  body: 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
  signature: 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
};

const SECRET = 'test-signing-secret-0123456789';
const headers = (ts: number | string, sig: string) => ({ 'x-slack-request-timestamp': String(ts), 'x-slack-signature': sig });

describe('SlackSignatureVerifier', () => {
  it("computes Slack's documented example signature and accepts it inside the window", async () => {
    expect(signature(DOC.secret, DOC.timestamp, DOC.body)).toBe(DOC.signature);
    const verifier = new SlackSignatureVerifier(DOC.secret, { now: () => (DOC.timestamp + 10) * 1_000 });
    expect(await verifier.verify(headers(DOC.timestamp, DOC.signature), Buffer.from(DOC.body))).toEqual({ ok: true });
  });

  it('refuses a wrong signature, a changed body, another secret, and missing or malformed headers', async () => {
    const now = 1_800_000_000;
    const verifier = new SlackSignatureVerifier(SECRET, { now: () => now * 1_000 });
    const body = Buffer.from('payload=%7B%7D');
    const good = signature(SECRET, now, body);
    const refused = (h: Record<string, string>, b = body) => verifier.verify(h, b);
    expect(await refused(headers(now, signature('another-secret', now, body)))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/invalid X-Slack-Signature/),
    });
    expect(await refused(headers(now, good), Buffer.from('payload=%7B%22x%22%7D'))).toMatchObject({ ok: false });
    expect(await refused(headers(now, good.replace('v0=', 'v1=')))).toMatchObject({ ok: false });
    expect(await refused(headers(now, 'v0=nothex'))).toMatchObject({ ok: false });
    expect(await refused({ 'x-slack-signature': good })).toMatchObject({ ok: false, reason: expect.stringMatching(/missing/) });
    expect(await refused(headers('12abc', good))).toMatchObject({ ok: false, reason: expect.stringMatching(/malformed/) });
    // None of the refusals used up the good signature.
    expect(await refused(headers(now, good))).toEqual({ ok: true });
  });

  it('refuses timestamps more than five minutes away, in either direction', async () => {
    let now = 1_800_000_000;
    const verifier = new SlackSignatureVerifier(SECRET, { now: () => now * 1_000 });
    const body = Buffer.from('{}');
    const at = (ts: number) => verifier.verify(headers(ts, signature(SECRET, ts, body)), body);
    expect(await at(now - 301)).toMatchObject({ ok: false, reason: expect.stringMatching(/300 s/) });
    expect(await at(now + 301)).toMatchObject({ ok: false });
    expect(await at(now - 299)).toEqual({ ok: true });
    now += 1;
    expect(await at(now + 299)).toEqual({ ok: true });
  });

  it('accepts a signed request once: the same request again is a replay', async () => {
    let now = 1_800_000_000;
    const verifier = new SlackSignatureVerifier(SECRET, { now: () => now * 1_000 });
    const body = Buffer.from('payload=click');
    const request = headers(now, signature(SECRET, now, body));
    expect(await verifier.verify(request, body)).toEqual({ ok: true });
    expect(await verifier.verify(request, body)).toMatchObject({ ok: false, reason: expect.stringMatching(/replay/) });
    // A new click (new timestamp) is a new request.
    now += 2;
    expect(await verifier.verify(headers(now, signature(SECRET, now, body)), body)).toEqual({ ok: true });
    // Past the window the replay memory may forget it: the timestamp check refuses it instead.
    now += 400;
    expect(await verifier.verify(request, body)).toMatchObject({ ok: false, reason: expect.stringMatching(/300 s/) });
  });
});
