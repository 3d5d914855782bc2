// Which copy of a bundled example the walkthrough opens (no `vscode` import: tested under Node).
// The user's own copy in the workspace comes first; with none, the example is copied into the first
// workspace folder (never over an existing file) so that edits and breakpoints land in the user's
// files; with no folder open, the extension's copy is opened and the user is told it is read as a
// sample. The extension's install folder is never where a user's edits go when a folder is open.

export type ExampleChoice =
  | { readonly action: 'open'; readonly path: string; readonly note: string | null }
  | { readonly action: 'copy'; readonly from: string; readonly to: string };

/**
 * `inWorkspace`: the example's paths found in the workspace (files named like it); `folders`: the
 * workspace folders' paths; `exists`: whether a path exists; `bundled`: the extension's copy.
 */
export function chooseExample(
  name: string, inWorkspace: readonly string[], folders: readonly string[], exists: (p: string) => boolean, bundled: string,
): ExampleChoice {
  const own = inWorkspace.filter((p) => !p.startsWith(bundled.slice(0, bundled.length - name.length)));
  const depth = (p: string) => p.split('/').length;
  if (own.length) return { action: 'open', path: [...own].sort((a, b) => depth(a) - depth(b) || a.localeCompare(b))[0]!, note: null };
  const folder = folders[0];
  if (folder !== undefined) {
    const to = `${folder.replace(/\/+$/, '')}/xsave-examples/${name}`;
    if (exists(to)) return { action: 'open', path: to, note: null };
    return { action: 'copy', from: bundled, to };
  }
  return { action: 'open', path: bundled, note: `This is the extension's own copy of ${name}: open a folder to work on a copy of your own.` };
}
