// xsave-sim: the command-line face of the simulator, for terminals and CI. Each command is a
// function from arguments to text; this file only dispatches and maps errors to exit statuses
// (0 success, 1 a failed assertion or invariant, 2 bad usage or bad input, 3 an internal error of
// xsave-sim itself: one line and a request to report it; the stack trace only with --debug).
import { LAYOUT_USAGE, layoutCommand } from './layout-command';
import { RUN_USAGE, runCommand } from './run-command';
import { EXPLORE_USAGE, exploreCommand } from './explore-command';
import { SILICON_USAGE, siliconCommand } from './silicon-command';
import { TIMELINE_USAGE, timelineCommand } from './timeline-command';
import { UsageError } from './args';
import { VERSION } from './version';

const USAGE = `usage: xsave-sim <command> [options]
       xsave-sim --version

options of every command:
  --debug   print the stack trace of an internal error (exit status 3)

commands:
  run       run a scenario, print its trace and assertion results
  explore   try every placement of interrupts, preemptions and FPU interrupts; write the shortest violation
  timeline  run a scenario and draw its timeline (VM entries and exits, #NM, events, the MSRs) as SVG or HTML
  layout    CPUID leaf 0DH and the standard and compacted XSAVE layouts of a CPU model
  silicon   replay logs recorded on a real CPU (silicon/probe.c) on the model and report every difference

${RUN_USAGE}

${EXPLORE_USAGE}

${TIMELINE_USAGE}

${LAYOUT_USAGE}

${SILICON_USAGE}`;

async function main(all: string[]): Promise<number> {
  const debug = all.includes('--debug');
  const argv = all.filter((a) => a !== '--debug');
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-V') {
    process.stdout.write(`xsave-sim ${VERSION}\n`);
    return 0;
  }
  try {
    // Exercises the internal-error path (exit 3) in tests.
    if (process.env.XSAVE_SIM_TEST_INTERNAL_ERROR === '1') throw new TypeError('a test of the internal-error path');
    switch (command) {
      case 'layout':
        if (rest.includes('--help') || rest.includes('-h')) { process.stdout.write(LAYOUT_USAGE + '\n'); return 0; }
        process.stdout.write(layoutCommand(rest));
        return 0;
      case 'run': {
        if (rest.includes('--help') || rest.includes('-h')) { process.stdout.write(RUN_USAGE + '\n'); return 0; }
        const r = runCommand(rest);
        process.stdout.write(r.stdout);
        process.stderr.write(r.stderr);
        return r.status;
      }
      case 'explore': {
        if (rest.includes('--help') || rest.includes('-h')) { process.stdout.write(EXPLORE_USAGE + '\n'); return 0; }
        // Progress on a terminal only, rewritten in place.
        const tty = process.stderr.isTTY === true;
        const r = await exploreCommand(rest, tty ? (line) => process.stderr.write(`\r\x1b[K${line}`) : null);
        if (tty) process.stderr.write('\r\x1b[K');
        process.stdout.write(r.stdout);
        process.stderr.write(r.stderr);
        return r.status;
      }
      case 'timeline': {
        if (rest.includes('--help') || rest.includes('-h')) { process.stdout.write(TIMELINE_USAGE + '\n'); return 0; }
        const r = timelineCommand(rest);
        process.stdout.write(r.stdout);
        process.stderr.write(r.stderr);
        return r.status;
      }
      case 'silicon': {
        if (rest.includes('--help') || rest.includes('-h')) { process.stdout.write(SILICON_USAGE + '\n'); return 0; }
        const r = siliconCommand(rest);
        process.stdout.write(r.stdout);
        return r.status;
      }
      default:
        throw new UsageError(`unknown command '${command}' (commands: run, explore, timeline, layout, silicon)`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`xsave-sim: ${e.message}\n`);
      return 2;
    }
    return internalError(e, debug);
  }
}

/** A defect of xsave-sim, not of the input: exit 3, distinct from a violation (1) or bad input (2). */
function internalError(e: unknown, debug: boolean): number {
  const what = e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e).split('\n')[0];
  process.stderr.write(`xsave-sim: internal error: ${what}\n`);
  if (debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  else process.stderr.write('xsave-sim: this is a defect of xsave-sim; please report it with the command line (--debug prints the stack)\n');
  return 3;
}

process.on('uncaughtException', (e) => { process.exitCode = internalError(e, process.argv.includes('--debug')); });
process.on('unhandledRejection', (e) => { process.exitCode = internalError(e, process.argv.includes('--debug')); });

void main(process.argv.slice(2)).then((status) => { process.exitCode = status; }, (e: unknown) => { process.exitCode = internalError(e, process.argv.includes('--debug')); });
