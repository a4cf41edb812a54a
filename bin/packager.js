#!/usr/bin/env node
// The `packager` command. Runs the TypeScript sources through tsx's loader so that `npm install`
// is the only step between a clone and a running server.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv.slice(2));
if (code !== undefined) process.exitCode = code;
