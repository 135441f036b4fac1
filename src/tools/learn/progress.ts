/**
 * A progress line on stderr: rewritten in place (carriage return) on a terminal, else one line about
 * every 10% so a log file stays short.
 */
export interface Progress {
  tick(done: number, detail: string): void;
  end(): void;
}

export function createProgress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY;
  const step = Math.max(1, Math.ceil(total / 10));
  let last = -1;
  let lastText = '';
  return {
    tick(done, detail) {
      lastText = `${label} ${done}/${total}${detail ? ` (${detail})` : ''}`;
      if (tty) {
        stream.write(`\r${lastText}`);
      } else if (done === total || Math.floor(done / step) > Math.floor(last / step)) {
        stream.write(`${lastText}\n`);
      }
      last = done;
    },
    end() {
      if (tty && lastText) {
        stream.write('\n');
      }
    },
  };
}
