/**
 * container/compose.models.yaml, framesupplier and a Python model server in
 * two containers, checked without running it (no container engine runs in
 * the tests): both services mount the same frame-store and socket volumes at
 * the paths the config and the server's flags name, the config it mounts is
 * valid with its model found in the shared socket directory, the server's
 * socket there is named after its model id, and both run as one uid.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/index.js';
import { discoveredSocket } from '../../src/pipeline/model-host/model-service.js';
import { readRepoFile } from '../helpers/repo.js';

interface Service {
  readonly command?: string[];
  readonly volumes?: string[];
  readonly build?: { dockerfile?: string } | string;
}

const flag = (command: readonly string[], name: string): string | undefined => {
  const at = command.indexOf(name);
  return at < 0 ? undefined : command[at + 1];
};

describe('container/compose.models.yaml', { timeout: 30_000 }, () => {
  const compose = parse(readRepoFile('container/compose.models.yaml')) as { services: Record<string, Service>; volumes: Record<string, unknown> };
  const fs = compose.services.framesupplier!;
  const model = compose.services.tiny!;
  const mounts = (s: Service): Map<string, string> => new Map((s.volumes ?? []).map((v) => v.split(':') as [string, string]).map(([from, to]) => [to, from]));

  it('the config it mounts is valid and finds the model in the directory both containers share', () => {
    const configMount = [...mounts(fs)].find(([to]) => to === '/config/framesupplier.yaml');
    assert.ok(configMount !== undefined);
    const config = parseConfig(readRepoFile(join('container', configMount[1])));
    const tiny = config.models.tiny as { discover?: string; modelId: string };
    assert.equal(tiny.discover, '/run/framesupplier/models');
    const command = model.command ?? [];
    assert.equal(flag(command, '--socket'), discoveredSocket(tiny.discover, tiny.modelId), "the server's socket is where the config looks for it");
    assert.equal(flag(command, '--model-id'), tiny.modelId);
    assert.equal(flag(command, '--shm-dir'), config.shmDir, 'the server reads the stores where framesupplier writes them');
    for (const dir of [tiny.discover, config.shmDir]) {
      const volume = mounts(fs).get(dir);
      assert.ok(volume !== undefined && !volume.startsWith('.') && !volume.startsWith('/'), `${dir} is a named volume in framesupplier's container`);
      assert.equal(mounts(model).get(dir), volume, `${dir} is the same volume in the model's container`);
      assert.ok(volume in compose.volumes, `${volume} is declared`);
    }
  });

  it("both containers run as framesupplier's uid", () => {
    const dockerfile = readRepoFile((model.build as { dockerfile: string }).dockerfile);
    const framesupplier = readRepoFile('Dockerfile');
    const uid = (text: string): string | undefined => /--uid (\d+)/.exec(text)?.[1];
    assert.equal(uid(dockerfile), uid(framesupplier));
    assert.match(dockerfile, /pip install --no-index/);
  });
});
