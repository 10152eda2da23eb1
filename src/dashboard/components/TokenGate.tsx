/** Shown when the page has no token, or the server refused it: asks for the view link's token. */

import { useState } from "preact/hooks";

export function TokenGate(props: { problem: string | null; onToken: (token: string) => void }) {
  const [token, setToken] = useState("");
  return (
    <main class="gate">
      <h1>teal dashboard</h1>
      {props.problem && (
        <p class="error" role="alert">
          {props.problem}
        </p>
      )}
      <p>
        Open the link that <code>teal dashboard</code> prints (it carries a read-only view token), or paste a
        token here.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (token.trim()) props.onToken(token.trim());
        }}
      >
        <label for="view-token">View token</label>
        <input
          id="view-token"
          type="password"
          autocomplete="off"
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
        />
        <button type="submit" class="primary">
          Watch
        </button>
      </form>
    </main>
  );
}
