/**
 * `teal completion bash|zsh`: a completion script generated from the commander command tree, so a
 * new command or option completes without anyone editing the script. Completes command names,
 * each command's options (with the global ones), and file names after an option that takes one.
 */

import type { Command, Option } from "commander";
import { TealError } from "../domain/errors.ts";

interface Node {
  /** The command path after `teal`, e.g. "" or "deploy". */
  readonly key: string;
  readonly commands: Array<{ name: string; description: string }>;
  readonly flags: string[];
}

export const SHELLS = ["bash", "zsh"] as const;

export function completionScript(program: Command, shell: string): string {
  if (shell === "bash") return bashScript(program);
  if (shell === "zsh") return zshScript(program);
  throw new TealError("USAGE", `teal completion: unknown shell "${shell}"; use one of ${SHELLS.join(", ")}`);
}

function flagsOf(options: readonly Option[]): string[] {
  return options.flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined));
}

/** Every command (the root included) with its subcommands and the options valid after it. */
function nodes(program: Command): Node[] {
  const globals = flagsOf(program.options);
  const out: Node[] = [];
  const visit = (cmd: Command, key: string, inherited: string[]) => {
    const flags = [...new Set([...flagsOf(cmd.options), ...inherited, "--help"])];
    out.push({
      key,
      commands: cmd.commands.map((c) => ({ name: c.name(), description: c.description() })),
      flags,
    });
    for (const c of cmd.commands) visit(c, key === "" ? c.name() : `${key} ${c.name()}`, flags);
  };
  visit(program, "", globals);
  return out;
}

/** Options whose value is a file or directory (`--config <file>`): file names complete there. */
function pathFlags(program: Command): string[] {
  return flagsOf(program.options.filter((o) => /<(file|dir)>/.test(o.flags)));
}

/** Options followed by a value (`--config <file>`): the next word is theirs, not a command. */
function valueFlags(program: Command): string[] {
  const all: Option[] = [];
  const visit = (cmd: Command) => {
    all.push(...cmd.options);
    cmd.commands.forEach(visit);
  };
  visit(program);
  return [...new Set(flagsOf(all.filter((o) => o.required || o.optional)))];
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function bashScript(program: Command): string {
  const cases = nodes(program)
    .map(
      (n) =>
        `    ${quote(n.key)}) words=${quote([...n.commands.map((c) => c.name), ...n.flags].join(" "))} ;;`,
    )
    .join("\n");
  return `# bash completion for teal (teal completion bash); generated from teal's commands
_teal() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  case " ${pathFlags(program).join(" ")} " in
    *" $prev "*) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
  esac
  case " ${valueFlags(program).join(" ")} " in
    *" $prev "*) COMPREPLY=(); return ;;
  esac
  local at="" i w skip=0 words=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    if ((skip)); then skip=0; continue; fi
    case " ${valueFlags(program).join(" ")} " in *" $w "*) skip=1; continue ;; esac
    case "$w" in -*) continue ;; esac
    # A known subcommand extends the path; anything else is an argument (a service name).
    case "$at" in
${nodes(program)
  .filter((n) => n.commands.length > 0)
  .map(
    (n) =>
      `      ${quote(n.key)}) case " ${n.commands.map((c) => c.name).join(" ")} " in *" $w "*) at="\${at:+$at }$w" ;; esac ;;`,
  )
  .join("\n")}
    esac
  done
  case "$at" in
${cases}
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -o default -F _teal teal
`;
}

function zshScript(program: Command): string {
  const all = nodes(program);
  const describe = (n: Node) =>
    n.commands.map((c) => quote(`${c.name}:${c.description.replace(/:/g, "\\:")}`)).join(" ");
  return `#compdef teal
# zsh completion for teal (teal completion zsh); generated from teal's commands
_teal() {
  local at="" i w skip=0
  for ((i = 2; i < CURRENT; i++)); do
    w="\${words[i]}"
    if ((skip)); then skip=0; continue; fi
    case " ${valueFlags(program).join(" ")} " in *" $w "*) skip=1; continue ;; esac
    case "$w" in -*) continue ;; esac
    case "$at" in
${all
  .filter((n) => n.commands.length > 0)
  .map(
    (n) =>
      `      ${quote(n.key)}) case " ${n.commands.map((c) => c.name).join(" ")} " in *" $w "*) at="\${at:+$at }$w" ;; esac ;;`,
  )
  .join("\n")}
    esac
  done
  if ((skip)); then _files; return; fi
  case "$at" in
${all
  .map((n) => {
    const cmds =
      n.commands.length > 0 ? `local -a cmds; cmds=(${describe(n)}); _describe command cmds; ` : "";
    return `    ${quote(n.key)}) ${cmds}compadd -- ${n.flags.join(" ")} ;;`;
  })
  .join("\n")}
  esac
}
compdef _teal teal
`;
}
