/** Light, dark, or the system's choice; kept in localStorage, applied as <html data-theme>. */

export type Theme = "auto" | "light" | "dark";
const KEY = "teal.theme";

export function savedTheme(): Theme {
  const t = localStorage.getItem(KEY);
  return t === "light" || t === "dark" ? t : "auto";
}

export function applyTheme(theme: Theme): void {
  if (theme === "auto") {
    delete document.documentElement.dataset.theme;
    localStorage.removeItem(KEY);
  } else {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem(KEY, theme);
  }
}

/** The theme in effect, for chart colors. */
export function effectiveTheme(theme: Theme): "light" | "dark" {
  if (theme !== "auto") return theme;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export const NEXT: Record<Theme, Theme> = { auto: "light", light: "dark", dark: "auto" };
