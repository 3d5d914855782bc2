// The HTML page of a picture's webview: a strict Content Security Policy (nothing remote, no inline
// script or style; the page's one script runs by its nonce), the stylesheet and the script from the
// extension's media/ folder, and the body the picture's script fills in. Theme colours come from
// VS Code's --vscode-* variables, which media/pictures.css uses.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

export function pageHtml(webview: vscode.Webview, extensionUri: vscode.Uri, script: string, title: string, body: string): string {
  const nonce = randomBytes(18).toString('base64').replace(/[^A-Za-z0-9]/g, '');
  const media = (name: string): string => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', name)).toString();
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource}`,
    `img-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${media('pictures.css')}">
<title>${title}</title>
</head>
<body class="xsave-picture">
${body}
<div id="tip" role="tooltip"></div>
<script nonce="${nonce}" src="${media(script)}"></script>
</body>
</html>`;
}
