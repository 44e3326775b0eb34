// npmguard's questions to npm, answered by npm's own code (read-only: nothing is installed,
// fetched or run). Loaded from the npm installation that the wrapper will run, so the answers
// are that npm's answers.
//
//   node npm_oracle.js NPM_ROOT < request.json > answer.json
//
// Requests (JSON on stdin):
//   {"ask": "parse", "tool": "npm"|"npx", "argv": [...], "cwd": "..."}
//     How npm reads the command line: npx's own argument rewriting (bin/npx-cli.js), then
//     @npmcli/config (argv, env, every .npmrc, the local prefix and implicit workspace) and
//     the command name as lib/utils/cmd-list.js resolves it; for pack, publish, cache add and
//     diff, each package spec's npm-package-arg type.
//   {"ask": "scripts", "argv": [...], "cwd": "...", "tree": "...", "actual": bool,
//    "policyPrefix": "...", "exec": bool}
//     For each package of the tree at `tree` (its lockfile, or node_modules when `actual`):
//     npm's allowScripts verdict (true, false, or null for unreviewed), as arborist decides it
//     at install time, with the policy resolved as the npm command would resolve it.
'use strict'

const { join, resolve } = require('node:path')
const Module = require('node:module')

const npmRoot = process.argv[2]
const fromNpm = (id) => require(join(npmRoot, 'node_modules', id))

// bin/npx-cli.js rewrites process.argv (options stop at the first positional, which gets a
// `--` in front of it) and then hands process to lib/cli.js. Run it with lib/cli.js replaced
// by a function that only records the rewritten argv.
const npxArgv = (argv) => {
  const cliPath = require.resolve(join(npmRoot, 'lib', 'cli.js'))
  let seen = null
  const stub = new Module(cliPath)
  stub.filename = cliPath
  stub.loaded = true
  stub.exports = (proc) => {
    seen = proc.argv.slice(2)
  }
  require.cache[cliPath] = stub
  const savedArgv = process.argv
  const savedError = console.error
  process.argv = [process.execPath, join(npmRoot, 'bin', 'npx-cli.js'), ...argv]
  console.error = () => {} // npx's notes about removed flags; npm prints them itself later
  try {
    require(join(npmRoot, 'bin', 'npx-cli.js'))
  } finally {
    process.argv = savedArgv
    console.error = savedError
  }
  if (seen === null) {
    // npx-cli.js no longer goes through lib/cli.js: stop before anything it started runs
    process.stdout.write(JSON.stringify({ error: 'npx-cli.js did not call lib/cli.js' }))
    process.exit(3)
  }
  return seen
}

const loadConfig = async (argv, cwd) => {
  const Config = fromNpm('@npmcli/config')
  const { definitions, flatten, nerfDarts, shorthands } = fromNpm(
    '@npmcli/config/lib/definitions')
  const config = new Config({
    npmPath: npmRoot,
    definitions,
    flatten,
    nerfDarts,
    shorthands,
    argv: [process.execPath, join(npmRoot, 'bin', 'npm-cli.js'), ...argv],
    cwd,
    warn: false,
  })
  await config.load()
  return config
}

const isGlobal = (config) => config.get('global') || config.get('location') === 'global'

// the values the wrapper acts on, as npm will see them
const KEYS = [
  'allow-scripts', 'call', 'dangerously-allow-all-scripts', 'dry-run', 'global',
  'ignore-scripts', 'include-workspace-root', 'install-links', 'location', 'package',
  'package-lock', 'package-lock-only', 'prefix', 'save', 'script-shell',
  'strict-allow-scripts', 'usage', 'workspace', 'workspaces', 'workspaces-update', 'yes',
]

const parse = async ({ tool, argv, cwd }) => {
  const npmArgv = tool === 'npx' ? npxArgv(argv) : argv
  const config = await loadConfig(npmArgv, cwd)
  const { deref } = require(join(npmRoot, 'lib', 'utils', 'cmd-list.js'))
  const remain = config.parsedArgv.remain
  const values = {}
  for (const key of KEYS) {
    try {
      values[key] = config.get(key)
    } catch {
      values[key] = null // a key this npm does not define
    }
  }
  const cli = {}
  for (const [key, value] of Object.entries(config.data.get('cli').data)) {
    cli[key] = value
  }
  const global = isGlobal(config)
  const globalPrefix = config.globalPrefix
  const command = deref(remain[0]) ?? null
  return {
    npmArgv,
    typed: remain[0] ?? null,
    command,
    args: remain.slice(1),
    specTypes: specTypes(command, remain.slice(1), config, cwd),
    values,
    cli,
    envAllowScripts: config.get('allow-scripts', 'env') ?? null,
    implicitWorkspace: config.get('workspace', 'default') ?? [],
    global,
    localPrefix: config.localPrefix,
    globalPrefix,
    globalDir: process.platform === 'win32'
      ? resolve(globalPrefix, 'node_modules') : resolve(globalPrefix, 'lib', 'node_modules'),
    prefix: global ? globalPrefix : config.localPrefix,
    npxCache: join(config.get('cache'), '_npx'),
    npmVersion: require(join(npmRoot, 'package.json')).version,
  }
}

// The package specs a command that fetches without installing hands to pacote, with the
// type npm-package-arg gives each ('git' ones are cloned and, when they have a prepare
// script, installed with their dependencies' scripts), or null for one npa refuses.
const specTypes = (command, args, config, cwd) => {
  let specs = []
  if (command === 'pack' || command === 'publish') {
    specs = args
  } else if (command === 'cache' && args[0] === 'add') {
    specs = args.slice(1)
  } else if (command === 'diff') {
    specs = config.get('diff') ?? []
  }
  const npa = specs.length ? fromNpm('npm-package-arg') : null
  const types = {}
  for (const spec of specs) {
    try {
      types[spec] = npa(spec, cwd).type
    } catch {
      types[spec] = null
    }
  }
  return types
}

const tryRequire = (path) => {
  try {
    return require(path)
  } catch (e) {
    if (e.code === 'MODULE_NOT_FOUND') {
      return null
    }
    throw e
  }
}

const scripts = async ({ argv, cwd, tree, actual, policyPrefix, exec }) => {
  const config = await loadConfig(argv, cwd)
  const resolveAllowScripts = tryRequire(join(npmRoot, 'lib', 'utils', 'resolve-allow-scripts.js'))
  const allowed = tryRequire(join(npmRoot, 'node_modules', '@npmcli', 'arborist', 'lib',
    'script-allowed.js'))
  let policy = null
  let source = null
  if (resolveAllowScripts && allowed) {
    const npm = { config, global: isGlobal(config), prefix: policyPrefix }
    const found = await resolveAllowScripts(npm, { skipProjectConfig: !!exec })
    policy = found.policy
    source = found.source
  }
  const Arborist = fromNpm('@npmcli/arborist')
  const arb = new Arborist({ ...config.flat, path: tree })
  const root = actual ? await arb.loadActual() : await arb.loadVirtual()
  const nodes = []
  for (const node of root.inventory.values()) {
    if (node.isProjectRoot) {
      continue
    }
    nodes.push({
      location: node.location,
      path: node.path,
      realpath: node.realpath,
      name: node.packageName ?? node.name,
      version: node.version ?? null,
      resolved: node.resolved ?? null,
      integrity: node.integrity ?? null,
      hasInstallScript: !!node.hasInstallScript,
      inBundle: !!node.inBundle,
      isLink: !!node.isLink,
      isWorkspace: !!node.isWorkspace,
      verdict: allowed ? allowed.isScriptAllowed(node, policy) : null,
    })
  }
  return { policySource: source, allowScriptsSupported: !!allowed, nodes }
}

const main = async () => {
  let input = ''
  for await (const chunk of process.stdin) {
    input += chunk
  }
  const request = JSON.parse(input)
  const answer = request.ask === 'parse' ? await parse(request) : await scripts(request)
  process.stdout.write(JSON.stringify(answer))
}

main().catch((err) => {
  process.stdout.write(JSON.stringify({
    error: String(err && err.message ? err.message : err),
    code: err && err.code ? String(err.code) : null,
  }))
  process.exitCode = 2
})
