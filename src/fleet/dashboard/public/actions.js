// Operator actions: every command is confirmed in a modal dialog first, then
// sent through the ops API, and its outcome is shown next to the buttons (a
// status region, so screen readers hear it too). Viewers never get here: the
// views build no action controls for them, and the hub refuses them anyway.
import { call } from './api.js';
import { h, fill } from './dom.js';
import { describeFleetResult, describeResult } from './model.js';

/** Asks in the confirmation dialog; resolves true on Confirm, false on Cancel or Escape. */
export function confirmAction(text, okLabel = 'Confirm') {
  const dialog = document.getElementById('confirm-dialog');
  const ok = document.getElementById('confirm-ok');
  const cancel = document.getElementById('confirm-cancel');
  const opener = document.activeElement;
  document.getElementById('confirm-text').textContent = text;
  ok.textContent = okLabel;
  return new Promise((resolve) => {
    const done = (answer) => {
      ok.removeEventListener('click', onOk);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      // Back to the button that asked, for keyboard users.
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(answer);
    };
    const onOk = () => done(true);
    const onCancel = (e) => {
      e.preventDefault();
      done(false);
    };
    ok.addEventListener('click', onOk);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('cancel', onCancel);
    dialog.showModal();
    cancel.focus();
  });
}

/** A result line: role=status, so the outcome is announced as well as shown. */
export function resultLine(id) {
  return h('p', { class: 'result', id, role: 'status', 'aria-live': 'polite' });
}

function show(el, r) {
  el.className = `result ${r.ok ? 'ok' : 'failed'}`;
  fill(el, h('span', { class: 'icon', 'aria-hidden': 'true' }, r.ok ? '✓' : '✕'), ' ', r.text);
}

/**
 * Asks `question`; on Confirm, disables `buttons`, shows `sending` in `out`, awaits `send()` (a call()
 * answer) and shows `describe(status, body)`. Answers the hub's reply, or undefined if cancelled.
 */
async function confirmed({ question, okLabel, out, buttons = [], sending, send, describe }) {
  if (!(await confirmAction(question, okLabel))) {
    show(out, { ok: false, text: 'Cancelled; nothing was sent.' });
    return undefined;
  }
  for (const b of buttons) b.disabled = true;
  out.className = 'result pending';
  fill(out, sending);
  try {
    const r = await send();
    show(out, describe(r.status, r.body));
    return r;
  } catch (e) {
    show(out, { ok: false, text: `Failed: ${e.message}` });
    throw e;
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

/** Confirms, sends one command to one gateway, shows the outcome in `out`. Answers the hub's reply, or undefined if cancelled. */
export function gatewayCommand({ gateway, command, args = {}, question, okLabel, out, buttons = [] }) {
  return confirmed({
    question, okLabel, out, buttons,
    sending: `Sending ${command} to ${gateway}…`,
    send: () => call('POST', `/v1/gateways/${encodeURIComponent(gateway)}/commands`, { command, args }),
    describe: (status, body) => describeResult(command, status, body),
  });
}

/** The same for a region, through POST /v1/fleet/commands. */
export function regionCommand({ region, command, args = {}, question, okLabel, out, buttons = [] }) {
  return confirmed({
    question, okLabel, out, buttons,
    sending: `Sending ${command} to region ${region}…`,
    send: () => call('POST', '/v1/fleet/commands', { command, args, region }),
    describe: describeFleetResult,
  });
}

/**
 * Settles writes whose outcome is unknown, through the hub's own route: the
 * hub, not the page, names who decided (the token's name), in the gateway's
 * journal and in the command log.
 */
export function settleUnknown({ gateway, receipts, as, question, okLabel, out, buttons = [] }) {
  return confirmed({
    question, okLabel, out, buttons,
    sending: `Telling ${gateway} the write ${as === 'retry' ? 'did not happen' : 'happened'}…`,
    send: () => call('POST', `/v1/gateways/${encodeURIComponent(gateway)}/queue/settle`, { receipts, as }),
    describe: (status, body) => describeResult('queue.settle', status, body),
  });
}

/** A drain rate from an input: a positive number, or undefined with the input marked invalid. */
export function rateFrom(input) {
  const v = Number(input.value);
  const ok = input.value.trim() !== '' && Number.isFinite(v) && v > 0 && v <= 100000;
  input.setAttribute('aria-invalid', ok ? 'false' : 'true');
  return ok ? v : undefined;
}
