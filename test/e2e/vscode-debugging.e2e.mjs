// The real-VS-Code test: the browser VS Code (code-server 4.139 = VS Code 1.139) with the built VSIX
// installed, driven by playwright-core in Debian's Chromium. It checks what a user sees:
// - a scenario with errors: Debug Scenario shows the diagnostics (VS Code's launch-error dialog);
// - a failed assertion: the stop highlights the assertion's own line;
// - examples/xfd-err-leak.xsave: a hover from the language server; a breakpoint on the guest #NM
//   handler's first line; the Call Stack with the guest frame above [VM entry]; the Variables
//   view's CPU 0 scope with IA32_XFD_ERR = 0x40000 [XTILEDATA] (and a screenshot); the Debug
//   Console's answer to IA32_XFD_ERR at top level, outside the trace's groups; Break on Value
//   Change from the Variables context menu, which stops when IA32_XFD_ERR next changes; the step
//   back button, which goes back to the statement before;
// - the pictures on the same session: the run timeline (from the debug toolbar), a click on the
//   guest's #NM mark (step 2156) travels there and the debugger stops there; the XSAVE layout view
//   shows cpu0's registers with XTILEDATA at 2816 (standard format) disabled by IA32_XFD, and the
//   guest fpstate with XTILEDATA at 2560 (compacted, XCOMP_BV 0x8000000000060ee7) disabled by its
//   fpstate->xfd; the same buffer pinned at step 2156 and shown again at the next stops, its
//   XTILECFG marked as changed; a screenshot of each view;
// - XSAVE: Explore Interleavings: the counterexample is named in a notification, opened, and the
//   session stands at the invariant it breaks; its timeline shows the events the search placed.
// Selectors and waits are those of VS Code 1.139's workbench (see scripts/e2e/README.md).
import assert from 'node:assert/strict';

const T = Number(process.env.E2E_TIMEOUT_MS || 90000);

/** Runs a palette command, clicking the row whose label is exactly `title` (retried until registered). */
async function command(page, title, log, tries = 30) {
  const exact = new RegExp(`^\\s*${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
  for (let i = 1; i <= tries; i++) {
    // A webview that has the focus keeps the keyboard: give it back to the workbench.
    // (Blurring the iframe is not enough; focusing a status bar item leaves the active editor group as it is.)
    await page.evaluate(() => {
      if (document.activeElement?.tagName !== 'IFRAME') return;
      const item = document.querySelector('.part.statusbar .statusbar-item a, .part.statusbar [tabindex]');
      if (item instanceof HTMLElement) item.focus();
    });
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

/** Opens a workspace file with Quick Open and waits for a line of it. */
async function open(page, file, line) {
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: T });
  await input.fill(file);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: file }).first().waitFor({ timeout: T });
  await page.keyboard.press('Enter');
  await page.locator('.tab', { hasText: file }).first().waitFor({ timeout: T });
  await page.locator('.monaco-editor .view-line', { hasText: line }).first().waitFor({ timeout: T });
}

/** Stops the debug session if one runs, and waits until the toolbar is gone. */
async function stopSession(page, log) {
  const toolbar = page.locator('.debug-toolbar');
  if (!(await toolbar.isVisible())) return;
  // The toolbar's stop button: the palette may not open while an exception widget has the focus.
  await page.locator('.debug-toolbar .action-label.codicon-debug-stop').first().click();
  await toolbar.waitFor({ state: 'hidden', timeout: T });
  log('session stopped');
}

/** The frame of a picture's webview (VS Code nests the page in two iframes) that holds `selector`. */
async function webviewFrame(page, selector) {
  for (let i = 0; i < 150; i++) {
    for (const f of page.frames()) {
      try {
        if (await f.$(selector)) return f;
      } catch { /* a frame that went away */ }
    }
    await page.waitForTimeout(200);
  }
  const tabs = (await page.locator('.tab').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
  throw new Error(`no webview shows ${selector} (tabs: ${tabs.join(' | ')})`);
}

/**
 * The layout view and the run timeline on a session stopped in examples/xfd-err-leak.xsave under
 * linux-5.17 past the guest's #NM (step 2156: TILELOADD with IA32_XFD = XTILEDATA, intercepted by
 * KVM, SDM Vol3 27.2.2). Screenshots go to `shots.layout` and `shots.timeline`.
 */
export async function pictures(page, { log, shots }) {
  // The run timeline, from its button on the debug toolbar.
  await page.locator('.debug-toolbar .action-label.codicon-graph-line').first().click();
  let tl = await webviewFrame(page, 'svg.xsave-timeline');
  const nm = tl.locator('.tl-lane[data-lane="cpu0"] .tl-mark.nm[data-step="2156"]');
  await nm.waitFor({ timeout: T });
  log(`timeline: ${await tl.locator('#status').innerText()}`);
  log(`the #NM mark: ${await nm.getAttribute('data-tip')}`);
  assert.match(await nm.getAttribute('data-tip'), /^step 2156: guest #NM, intercepted: VM exit EXCEPTION_NMI/);
  // A click on it travels there: the debugger stops at step 2156 (after the VM exit, in the run loop).
  await nm.click();
  await page.locator('.debug-call-stack .monaco-list-row', { hasText: /step 2156/i }).first().waitFor({ timeout: T });
  const frames = page.locator('.debug-call-stack .monaco-list-row');
  await frames.filter({ hasText: 'vcpu_enter_guest' }).first().waitFor({ timeout: T });
  log(`stopped at step 2156: ${(await frames.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim()).slice(0, 3).join(' | ')}`);
  // The cursor follows the stop.
  await tl.locator('.tl-cursor[data-step="2156"]').waitFor({ timeout: T });
  log('the timeline cursor stands at step 2156');

  // The XSAVE layout view, from the palette: cpu0's registers at this stop.
  await command(page, 'XSAVE: Show XSAVE Layout', log);
  const lv = await webviewFrame(page, 'svg.xsave-layout');
  const td = lv.locator('svg.xsave-layout[data-area="cpu:0"] .lv-block[data-name="XTILEDATA"]');
  await td.waitFor({ timeout: T });
  assert.equal(await td.getAttribute('data-offset'), '2816');
  assert.equal(await td.getAttribute('data-size'), '8192');
  const classes = (await td.getAttribute('class')).split(/\s+/);
  log(`cpu0 registers (standard): XTILEDATA at ${await td.getAttribute('data-offset')}, classes ${classes.join(' ')}`);
  assert.ok(classes.includes('xfd'), 'XTILEDATA is disabled by IA32_XFD = 0x40000');
  // The guest's fpstate: compacted by XSAVES, XTILEDATA at 2560, disabled by its fpstate->xfd.
  const guest = await lv.locator('#area option').evaluateAll((os) => os.map((o) => ({ value: o.value, text: o.textContent })).find((o) => /^vcpu 0: arch\.guest_fpu\.fpstate /.test(o.text)));
  assert.ok(guest, 'the area list names the guest fpstate');
  await lv.locator('#area').selectOption(guest.value);
  const gtd = lv.locator(`svg.xsave-layout[data-area="${guest.value}"] .lv-block[data-name="XTILEDATA"]`);
  await gtd.waitFor({ timeout: T });
  assert.equal(await lv.locator(`svg.xsave-layout[data-area="${guest.value}"]`).getAttribute('data-format'), 'compacted');
  assert.equal(await gtd.getAttribute('data-offset'), '2560');
  const gclasses = (await gtd.getAttribute('class')).split(/\s+/);
  log(`${guest.text} (compacted): XTILEDATA at ${await gtd.getAttribute('data-offset')}, classes ${gclasses.join(' ')}`);
  assert.ok(gclasses.includes('xfd'), "XTILEDATA is disabled by the guest fpstate's xfd");
  assert.match(await lv.locator('svg.xsave-layout').first().innerHTML(), /XCOMP_BV 0x8000000000060ee7/);
  // Side by side with cpu0's registers: the blocks that differ are marked.
  const cpuChoice = await lv.locator('#compare option').evaluateAll((os) => os.map((o) => o.value).find((v) => v === 'area:cpu:0'));
  await lv.locator('#compare').selectOption(cpuChoice);
  await lv.locator('.side[data-side="1"] svg.xsave-layout[data-area="cpu:0"]').waitFor({ timeout: T });
  log(`compared with cpu0's registers: ${await lv.locator('#status').innerText()}`);
  // A hover shows the block's registers; a click opens its bytes and shows them below.
  // (A row of the picture, not its centre, which may fall between two rows.)
  await gtd.locator('.lv-fill').first().hover();
  const tip = lv.locator('#tip');
  await tip.waitFor({ state: 'visible', timeout: T });
  assert.match(await tip.innerText(), /XTILEDATA \(18\): offset 2560 \(0xa00\), 8192 bytes/);
  await gtd.locator('.lv-fill').first().click();
  await lv.locator('#details', { hasText: 'XTILEDATA (18): offset 2560' }).waitFor({ timeout: T });
  await page.locator('.tab', { hasText: /XTILEDATA\.hexdump/ }).first().waitFor({ timeout: T });
  log('a click opened the bytes of XTILEDATA');
  // Stopped in vcpu_enter_guest, whose local `vcpu` reaches the guest fpstate.
  await page.locator('.debug-watch .monaco-list-row', { hasText: 'vcpu.arch.guest_fpu.fpstate' }).first().waitFor({ state: 'attached', timeout: T });
  log('and put its fpstate in the Watch view');

  // The same buffer at two steps: pinned here, then the run goes on to the handler's first line
  // (line 15, reached twice: the scenario's interrupt exits before it runs the first time). KVM
  // saved the guest's TILECFG into it meanwhile (XSTATE_BV gains XTILECFG).
  await lv.locator('#pin').click();
  await lv.locator('#status', { hasText: /^step 2156; 0 blocks differ/ }).waitFor({ timeout: T });
  const status = lv.locator('#status');
  for (let i = 0; !/differs: XTILECFG$/.test(await status.innerText()); i++) {
    if (i >= 3) throw new Error(`the layout never showed XTILECFG changed: ${await status.innerText()}`);
    const was = await status.innerText();
    await page.locator('.debug-toolbar .action-label.codicon-debug-continue').click();
    // The view redraws at the stop: its status names the new step.
    for (let k = 0; k < 300 && (await status.innerText()) === was; k++) await page.waitForTimeout(100);
    log(`continued: ${await status.innerText()}`);
  }
  const pinnedSide = lv.locator('.side[data-side="1"] .lv-block.differs[data-name="XTILECFG"]');
  await pinnedSide.waitFor({ timeout: T });
  log(`the guest fpstate now against step 2156: ${await lv.locator('#status').innerText()}`);
  await lv.evaluate(() => window.scrollTo(0, 0));
  // Room for the pictures: the Debug Console's panel goes (nothing after this needs it).
  const hidePanel = page.locator('.part.panel .action-label[aria-label^="Hide Panel"], .part.panel .action-label[aria-label^="Close Panel"]').first();
  if (await hidePanel.isVisible()) await hidePanel.click();
  await shoot(page, log, 'XSAVE: Show XSAVE Layout', shots.layout);

  // The timeline of the run so far, zoomed in around the guest's #NM with the wheel.
  // (The palette, not the tab: the floating debug toolbar may cover the tabs.) A hidden webview is
  // discarded, so the timeline's page is a new frame.
  await command(page, 'XSAVE: Show Run Timeline', log);
  tl = await webviewFrame(page, 'svg.xsave-timeline');
  const mark = tl.locator('.tl-lane[data-lane="cpu0"] .tl-mark.nm[data-step="2156"]');
  await mark.waitFor({ timeout: T });
  for (let i = 0; i < 4; i++) {
    // Its left edge: before the zoom the marks of the #NM's injection and of the event that runs
    // other.main (76 steps on) overlap its right half.
    await mark.hover({ position: { x: 3, y: 8 } });
    await page.mouse.wheel(0, -200);
    await page.waitForTimeout(400);
  }
  await mark.waitFor({ timeout: T });
  log(`timeline zoomed in: ${await tl.locator('#status').innerText()}`);
  await shoot(page, log, 'XSAVE: Show Run Timeline', shots.timeline);
}

/** A screenshot with one picture's editor group maximized (`show` focuses it), then the layout as it was. */
async function shoot(page, log, show, path) {
  await command(page, show, log);
  // The panel takes the focus a moment later: a palette opened before that would close at once.
  await page.waitForTimeout(1000);
  await page.mouse.move(5, 880); // no hover left over the picture
  await command(page, 'View: Toggle Maximize Editor Group', log);
  await page.waitForTimeout(1500);
  await page.screenshot({ path });
  log(`screenshot: ${path}`);
  await command(page, 'View: Toggle Maximize Editor Group', log);
  await page.waitForTimeout(500);
}

export async function run(page, { url, workspace, shot, shots, log }) {
  await page.goto(`${url}/?folder=${encodeURIComponent(workspace)}`, { waitUntil: 'domcontentloaded', timeout: T });
  await page.locator('.monaco-workbench').waitFor({ timeout: T });
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'examples' }).first().waitFor({ timeout: T });
  log('workbench ready');

  // A scenario with errors: Debug Scenario fails, and VS Code shows why (a dialog, for a launch).
  await open(page, 'broken.xsave', 'undefined_thing');
  await command(page, 'XSAVE: Debug Scenario', log);
  const dialog = page.locator('.monaco-dialog-box', { hasText: "unknown name 'undefined_thing'" });
  await dialog.first().waitFor({ timeout: T });
  log(`launch error shown: ${(await dialog.first().innerText()).replace(/\s+/g, ' ').slice(0, 120)}`);
  await dialog.locator('.monaco-button', { hasText: 'Cancel' }).first().click();
  await dialog.first().waitFor({ state: 'hidden', timeout: T });

  // A failed assertion: the stop is on the assertion's line (6), and that line is the one marked.
  await open(page, 'assert-fails.xsave', 'assert(a == 3');
  await command(page, 'XSAVE: Debug Scenario', log);
  await page.getByText('Paused on entry').first().waitFor({ timeout: T });
  await page.locator('.debug-toolbar .action-label.codicon-debug-continue').click();
  // The exception widget names the stop.
  await page.getByText('Exception has occurred: assertion failed').first().waitFor({ timeout: T });
  const top = page.locator('.debug-call-stack .monaco-list-row', { hasText: 'assert-fails.xsave' }).first();
  await top.waitFor({ timeout: T });
  const topText = (await top.innerText()).replace(/\s+/g, ' ').trim();
  log(`assertion stop: ${topText}`);
  assert.match(topText, /assert-fails\.xsave 6:5/);
  const marked = page.locator('.monaco-editor .view-overlays .debug-top-stack-frame-line');
  await marked.first().waitFor({ timeout: T });
  const markedTop = await marked.first().evaluate((el) => el.parentElement.style.top);
  const line6Top = await page.locator('.monaco-editor .view-line', { hasText: 'assert(a == 3' }).first().evaluate((el) => el.style.top);
  assert.equal(markedTop, line6Top, 'the highlighted line is the assertion');
  await stopSession(page, log);

  // Open the example with Quick Open.
  await open(page, 'xfd-err-leak.xsave', 'fn exc_device_not_available');
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
  // The pane may be too short to show the row (the Loaded Scripts view takes its share): the
  // keyboard walks down to it, which scrolls the tree (mode, CPL, XCR0, IA32_XSS, IA32_XFD, IA32_XFD_ERR).
  const row = page.locator('.debug-variables .monaco-list-row', { hasText: 'IA32_XFD_ERR' }).first();
  await page.locator('.debug-variables .monaco-list-row', { hasText: /^\s*mode\b/ }).first().waitFor({ state: 'attached', timeout: T });
  for (let i = 0; i < 6; i++) await page.keyboard.press('ArrowDown');
  await row.waitFor({ timeout: T });
  const name = (await row.locator('.name').first().innerText()).trim().replace(/\s*[=:]$/, '');
  const value = (await row.locator('.value').first().innerText()).trim();
  log(`Variables: ${name} = ${value}`);
  assert.equal(name, 'IA32_XFD_ERR');
  assert.equal(value, '0x40000 [XTILEDATA]');
  await page.screenshot({ path: shot });
  log(`screenshot: ${shot}`);

  // The Debug Console answers at top level, not inside the trace's collapsed VM entry group.
  await command(page, 'Debug Console: Focus on Debug Console View', log);
  const replInput = page.locator('.repl .repl-input-wrapper').first();
  await replInput.waitFor({ timeout: T });
  await replInput.click();
  await page.locator('.repl .repl-input-wrapper .monaco-editor.focused').first().waitFor({ timeout: T });
  await page.keyboard.type('IA32_XFD_ERR');
  await page.keyboard.press('Enter');
  const answer = page.locator('.repl .monaco-list-row', { hasText: '0x40000 [XTILEDATA]' }).last();
  await answer.waitFor({ timeout: T });
  const level = await answer.getAttribute('aria-level');
  log(`Debug Console answer: ${(await answer.innerText()).replace(/\s+/g, ' ').trim()} (tree level ${level})`);
  assert.equal(level, '1', 'the answer is at top level');

  // Break on Value Change from the Variables context menu, then continue: the stop is the data
  // breakpoint on IA32_XFD_ERR.
  const dataBp = page.locator('.debug-breakpoints .monaco-list-row', { hasText: 'IA32_XFD_ERR' }).first();
  for (let i = 1; ; i++) {
    await page.keyboard.press('Escape');
    await row.click({ button: 'right' });
    const item = page.locator('.context-view .action-item', { hasText: 'Break on Value Change' }).first();
    await item.waitFor({ timeout: T });
    await page.waitForTimeout(200); // the menu takes clicks once it has settled
    await item.click();
    try {
      await dataBp.waitFor({ timeout: 3000 });
      break;
    } catch (e) {
      if (i >= 5) throw e;
      log(`Break on Value Change: no breakpoint yet (try ${i})`);
    }
  }
  log('Break on Value Change set on IA32_XFD_ERR');
  await page.locator('.debug-toolbar .action-label.codicon-debug-continue').click();
  // The thread's badge shows the stop's description: "cpu0.IA32_XFD_ERR changed".
  await page.locator('.debug-call-stack .monaco-list-row', { hasText: /IA32_XFD_ERR changed/i }).first().waitFor({ timeout: T });
  log('stopped on the data breakpoint');

  // The step back button: back to an earlier statement of the same thread.
  const stackText = async () => (await frames.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim()).filter((t) => /:\d+|\d+:\d+/.test(t))[0] ?? '';
  const topBefore = await stackText();
  await page.locator('.debug-toolbar .action-label.codicon-debug-step-back').click();
  await page.locator('.debug-call-stack .monaco-list-row', { hasText: /paused on step/i }).first().waitFor({ timeout: T });
  await page.waitForTimeout(300);
  const topAfter = await stackText();
  log(`step back: ${topBefore} -> ${topAfter}`);
  assert.notEqual(topAfter, topBefore);
  // Off again (its checkbox), so the run below ends as before.
  await page.keyboard.press('Escape');
  const box = dataBp.locator('[role=checkbox]').first();
  await box.click();
  await dataBp.locator('[role=checkbox][aria-checked=false]').first().waitFor({ timeout: T });
  log('data breakpoint disabled');

  await pictures(page, { log, shots });

  // Continue to the end: the breakpoint's line is reached once more (the scenario's interrupt exits
  // before it runs), then linux-5.17 runs to the end without a violation and the session ends.
  const toolbar = page.locator('.debug-toolbar');
  for (let i = 0; i < 5 && await toolbar.isVisible(); i++) {
    // The session may end (and the toolbar go) between the check and the click.
    try {
      await page.locator('.debug-toolbar .action-label.codicon-debug-continue').click({ timeout: 5000 });
    } catch (e) {
      if (await toolbar.isVisible()) throw e;
      break;
    }
    await Promise.race([
      toolbar.waitFor({ state: 'hidden', timeout: T }),
      page.locator('.debug-call-stack .monaco-list-row', { hasText: 'guest:exc_device_not_available' }).first().waitFor({ timeout: T }),
    ]);
    await page.waitForTimeout(300);
  }
  await toolbar.waitFor({ state: 'hidden', timeout: T });
  log('continued to the end; the session ended');

  // Explore Interleavings on the scenario without its events (naive): the search places the VM
  // exit itself; the counterexample opens, named in a notification, stopped at the violation.
  await open(page, 'xfd-err-leak-no-events.xsave', 'fn exc_device_not_available');
  await command(page, 'XSAVE: Explore Interleavings', log);
  const note = page.locator('.notifications-toasts .notification-toast', { hasText: 'the counterexample is' });
  await note.first().waitFor({ timeout: T });
  log(`notification: ${(await note.first().innerText()).replace(/\s+/g, ' ').trim().slice(0, 140)}`);
  await page.locator('.tab', { hasText: 'xfd-err-leak-no-events.counterexample.xsave' }).first().waitFor({ timeout: T });
  await page.locator('.debug-call-stack .monaco-list-row', { hasText: /invariant violated/i }).first().waitFor({ timeout: T });
  log('the counterexample is open, stopped at the invariant it breaks');
  // Its timeline shows the run to the violation, the events the search placed as stars.
  const ce = await webviewFrame(page, 'svg.xsave-timeline .tl-mark.injected');
  const placed = await ce.locator('.tl-lane[data-lane="cpu0"] .tl-mark.injected').evaluateAll((ms) => ms.map((m) => m.getAttribute('data-tip')));
  log(`the counterexample's timeline: ${placed.join(' | ')}`);
  assert.ok(placed.some((t) => /event external_interrupt \(vector 32\) \(placed by the explorer\)/.test(t)), placed.join('\n'));
  await ce.locator('.tl-mark.invariant').first().waitFor({ timeout: T });
  await stopSession(page, log);
}
