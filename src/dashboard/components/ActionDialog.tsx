/**
 * The confirmation every action goes through: it says what will happen and asks for the admin
 * token (the page itself holds only the read-only view token). A modal <dialog>: focus moves into
 * it, Escape cancels, and focus returns to the button that opened it.
 */

import { useEffect, useRef, useState } from "preact/hooks";
import type { ActionSpec } from "../actions.ts";
import { ApiError, postJson } from "../api.ts";
import { rememberAdminToken, rememberedAdminToken } from "../tokens.ts";

export function ActionDialog(props: {
  action: ActionSpec;
  onClose: (done: string | null) => void;
  /** Told while the request is on its way (the page then keeps the dialog even if status moves). */
  onSending: (sending: boolean) => void;
}) {
  const { action, onClose, onSending } = props;
  const dialog = useRef<HTMLDialogElement>(null);
  const remembered = rememberedAdminToken();
  const [token, setToken] = useState(remembered ?? "");
  const [remember, setRemember] = useState(remembered !== null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    dialog.current!.showModal();
    return () => opener?.focus();
  }, []);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    onSending(true);
    setError(null);
    try {
      await postJson(action.path, token.trim() === "" ? null : token.trim(), action.body);
      rememberAdminToken(remember ? token.trim() : null);
      dialog.current!.close();
      onClose(`${action.label}: accepted for ${action.effect.split(":")[0]}`);
    } catch (err) {
      const e2 = err instanceof ApiError ? err : new ApiError(0, "INTERNAL", String(err));
      if (e2.status === 401 || e2.status === 403) rememberAdminToken(null);
      setError(`Refused (${e2.status || "no answer"} ${e2.code}): ${e2.message}`);
    } finally {
      setBusy(false);
      onSending(false);
    }
  };

  return (
    <dialog
      ref={dialog}
      class="action-dialog"
      aria-labelledby="action-title"
      aria-describedby="action-effect"
      onCancel={() => onClose(null)}
      data-testid="action-dialog"
    >
      <form onSubmit={submit}>
        <h2 id="action-title">{action.question}</h2>
        <p id="action-effect">{action.effect}</p>
        <label for="admin-token">Admin token</label>
        <input
          id="admin-token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          aria-describedby="admin-token-hint"
        />
        <p id="admin-token-hint" class="hint">
          In <code>&lt;data-dir&gt;/admin.token</code> on the server. The view link can only watch.
        </p>
        <label class="check">
          <input
            type="checkbox"
            checked={remember}
            onChange={(e) => setRemember((e.target as HTMLInputElement).checked)}
          />{" "}
          Remember the admin token in this tab
        </label>
        {error && (
          <p class="error" role="alert" data-testid="action-error">
            {error}
          </p>
        )}
        <div class="buttons">
          <button
            type="button"
            onClick={() => {
              dialog.current!.close();
              onClose(null);
            }}
          >
            Cancel
          </button>
          <button type="submit" class={action.danger ? "danger" : "primary"} disabled={busy}>
            {busy ? "Sending…" : action.label}
          </button>
        </div>
      </form>
    </dialog>
  );
}
