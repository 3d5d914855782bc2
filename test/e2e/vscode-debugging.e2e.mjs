// The real-VS-Code test: the browser VS Code (code-server 4.139 = VS Code 1.139) with the built VSIX
// installed, driven by playwright-core in Debian's Chromium. It opens examples/xfd-err-leak.xsave,
// checks a hover that the language server answers, sets a breakpoint on the guest #NM handler's
// first line, starts debugging from the command palette, and checks what the user sees: the Call
// Stack has the guest frame above [VM entry], and the Variables view's CPU 0 scope shows
// IA32_XFD_ERR = 0x40000 [XTILEDATA]. It saves a screenshot.
// Selectors and waits are those of VS Code 1.139's workbench (see scripts/e2e/README.md).
import assert from 'node:assert/strict';

const T = Number(process.env.E2E_TIMEOUT_MS || 90000);

/** Runs a palette command, clicking the row whose label is exactly `title` (retried until registered). */
async function command(page, title, log, tries = 30) {
  const exact = new RegExp(`^\\s*${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
  for (let i = 1; i <= tries; i++) {
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: T });
    await input.fill(`>${title}`);
    const row = page.locator('.quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: exact }) }).first();
    try {
      await row.waitFor({ timeout: 3000 });
      await row.click();
      return;
    } catch {
      log(`'${title}' is not in the palette yet (try ${i})`);
    }
  }
  throw new Error(`the command '${title}' never appeared in the palette`);
}

export async function run(page, { url, workspace, shot, log }) {
  await page.goto(`${url}/?folder=${encodeURIComponent(workspace)}`, { waitUntil: 'domcontentloaded', timeout: T });
  await page.locator('.monaco-workbench').waitFor({ timeout: T });
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'examples' }).first().waitFor({ timeout: T });
  log('workbench ready');

  // Open the example with Quick Open.
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: T });
  await input.fill('xfd-err-leak.xsave');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'xfd-err-leak.xsave' }).first().waitFor({ timeout: T });
  await page.keyboard.press('Enter');
  await page.locator('.tab', { hasText: 'xfd-err-leak.xsave' }).first().waitFor({ timeout: T });
  await page.locator('.monaco-editor .view-line', { hasText: 'fn exc_device_not_available' }).first().waitFor({ timeout: T });
  log('editor shows examples/xfd-err-leak.xsave');

  // The language server (dist/server.js, started by the extension's client) answers a hover on
  // `rdmsr` in line 15 with the builtin's signature. Retried while the server starts.
  const hover = page.locator('.monaco-hover', { hasText: 'rdmsr(msr)' });
  for (let i = 0; ; i++) {
    await command(page, 'Go to Line/Column...', log);
    await page.locator('.quick-input-widget input').fill(':15:13');
    await page.keyboard.press('Enter');
    await command(page, 'Show or Focus Hover', log);
    try {
      await hover.first().waitFor({ timeout: 3000 });
      break;
    } catch (e) {
      if (i >= 20) throw e;
    }
  }
  log(`hover from the language server: ${(await hover.first().innerText()).split('\n')[0]}`);
  await page.keyboard.press('Escape');

  // A breakpoint on line 15, `err = rdmsr(MSR_IA32_XFD_ERR);`, the handler's first statement.
  await command(page, 'Go to Line/Column...', log);
  await page.locator('.quick-input-widget input').fill(':15');
  await page.keyboard.press('Enter');
  await command(page, 'Debug: Toggle Breakpoint', log);
  await page.locator('.monaco-editor .codicon-debug-breakpoint').first().waitFor({ timeout: T });
  log('breakpoint set on line 15');

  await command(page, 'Debug: Start Debugging', log);
  log('Debug: Start Debugging issued');
  await page.getByText('Paused on breakpoint').first().waitFor({ timeout: T });

  // Call Stack: the guest frames stand above the [VM entry] label and the run loop's host frames.
  const frames = page.locator('.debug-call-stack .monaco-list-row');
  await frames.filter({ hasText: '[VM entry]' }).first().waitFor({ timeout: T });
  const rows = (await frames.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
  log(`call stack: ${rows.join(' | ')}`);
  const guest = rows.findIndex((r) => r.includes('guest:exc_device_not_available'));
  const label = rows.findIndex((r) => r.includes('[VM entry]'));
  const host = rows.findIndex((r) => r.includes('vcpu_enter_guest'));
  assert.ok(guest >= 0 && label > guest && host > label, `guest frame above [VM entry] above the host: ${rows.join(' | ')}`);

  // Variables: expand the CPU 0 scope (Locals, the first, opens by itself) and read IA32_XFD_ERR.
  await page.locator('.debug-variables .monaco-list-row', { hasText: /^\s*CPU 0\s*$/ }).first().click();
  const row = page.locator('.debug-variables .monaco-list-row', { hasText: 'IA32_XFD_ERR' }).first();
  await row.waitFor({ timeout: T });
  const name = (await row.locator('.name').first().innerText()).trim().replace(/\s*[=:]$/, '');
  const value = (await row.locator('.value').first().innerText()).trim();
  log(`Variables: ${name} = ${value}`);
  assert.equal(name, 'IA32_XFD_ERR');
  assert.equal(value, '0x40000 [XTILEDATA]');
  await page.screenshot({ path: shot });
  log(`screenshot: ${shot}`);

  // Continue to the end: the breakpoint's line is reached once more (the scenario's interrupt exits
  // before it runs), then linux-5.17 runs to the end without a violation and the session ends.
  const toolbar = page.locator('.debug-toolbar');
  for (let i = 0; i < 5 && await toolbar.isVisible(); i++) {
    await page.locator('.debug-toolbar .action-label.codicon-debug-continue').click();
    await Promise.race([
      toolbar.waitFor({ state: 'hidden', timeout: T }),
      page.locator('.debug-call-stack .monaco-list-row', { hasText: 'guest:exc_device_not_available' }).first().waitFor({ timeout: T }),
    ]);
    await page.waitForTimeout(300);
  }
  await toolbar.waitFor({ state: 'hidden', timeout: T });
  log('continued to the end; the session ended');
}
