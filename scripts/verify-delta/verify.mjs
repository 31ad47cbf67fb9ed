#!/usr/bin/env node
// verify.mjs TABLE — checks a certstream Delta Lake table with DuckDB.
//
// It replays _delta_log itself (every JSON commit from version 0, or from the
// newest checkpoint when early commits are gone), then has DuckDB read every
// live data file with read_parquet and compares what the log says with what
// the files hold: row counts (stats.numRecords), partitions (values, paths,
// and the seen column's UTC day for seen_date), the schema (schemaString
// against each file's columns, types and nullability), the min/max/nullCount
// stats, and each checkpoint's file list against the replayed log.
//
// Prints a summary; exits 0 when the table is valid, 1 with one line per
// problem otherwise, 2 on usage errors. @duckdb/node-api is installed next
// to this script on first use (npm ci --prefix <this directory>).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const problems = [];
const fail = (msg) => problems.push(msg);

async function loadDuckDB() {
  if (!fs.existsSync(path.join(here, 'node_modules', '@duckdb', 'node-api'))) {
    // npm ci installs exactly what package-lock.json pins.
    const how = fs.existsSync(path.join(here, 'package-lock.json')) ? 'ci' : 'install';
    console.error(`verify-delta: installing @duckdb/node-api (npm ${how}) ...`);
    execFileSync('npm', [how, '--prefix', here, '--no-audit', '--no-fund', '--loglevel=error'], { stdio: 'inherit' });
  }
  return import('@duckdb/node-api');
}

const sqlString = (s) => `'${String(s).replaceAll("'", "''")}'`;
const sqlList = (items) => `[${items.map(sqlString).join(', ')}]`;
const sqlIdent = (s) => `"${String(s).replaceAll('"', '""')}"`;
const num = (v) => (typeof v === 'bigint' ? Number(v) : v);
const pad = (v) => String(v).padStart(20, '0');

// ---- the log ------------------------------------------------------------------------------

function listLog(table) {
  const dir = path.join(table, '_delta_log');
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new Error(`${dir} is not a directory: not a Delta table`);
  }
  const commits = [];
  const checkpoints = [];
  for (const name of fs.readdirSync(dir)) {
    let m = /^(\d{20})\.json$/.exec(name);
    if (m) commits.push(Number(m[1]));
    m = /^(\d{20})\.checkpoint\.parquet$/.exec(name);
    if (m) checkpoints.push(Number(m[1]));
  }
  commits.sort((a, b) => a - b);
  checkpoints.sort((a, b) => a - b);
  return { dir, commits, checkpoints };
}

// newState returns an empty table state.
const newState = () => ({ version: -1, protocol: null, metaData: null, adds: new Map(), txns: new Map(), snapshots: new Map() });

// apply applies one action to the state; where names the version or checkpoint.
function apply(state, a, where) {
  if (a.protocol) state.protocol = a.protocol;
  else if (a.metaData) state.metaData = a.metaData;
  else if (a.add) {
    if (state.adds.has(a.add.path)) fail(`${where}: adds ${a.add.path}, which is already in the table`);
    state.adds.set(a.add.path, { ...a.add, addedIn: where });
  } else if (a.remove) {
    if (a.remove.dataChange !== false && state.metaData?.configuration?.['delta.appendOnly'] === 'true') {
      fail(`${where}: removes ${a.remove.path} from an append-only table`);
    }
    state.adds.delete(a.remove.path);
  } else if (a.txn) {
    const last = state.txns.get(a.txn.appId);
    if (last !== undefined && num(a.txn.version) <= last) {
      fail(`${where}: txn ${a.txn.appId} version ${a.txn.version} does not follow ${last}: a batch committed twice`);
    }
    state.txns.set(a.txn.appId, num(a.txn.version));
  }
}

// readCommit parses one commit file into the state.
function readCommit(state, dir, v) {
  const name = `${pad(v)}.json`;
  const lines = fs.readFileSync(path.join(dir, name), 'utf8').split('\n');
  let commitInfos = 0;
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let a;
    try {
      a = JSON.parse(line);
    } catch (e) {
      fail(`${name} line ${i + 1}: not JSON: ${e.message}`);
      return;
    }
    if (a.commitInfo) commitInfos++;
    if (v > 0 && (a.protocol || a.metaData)) {
      console.log(`note: version ${v} changes the ${a.protocol ? 'protocol' : 'metadata'}`);
    }
    apply(state, a, `version ${v}`);
  });
  if (commitInfos > 1) fail(`${name}: ${commitInfos} commitInfo actions`);
  state.version = v;
}

// readCheckpoint loads a checkpoint's actions with DuckDB.
async function readCheckpoint(con, dir, v) {
  const file = path.join(dir, `${pad(v)}.checkpoint.parquet`);
  const rows = (
    await con.runAndReadAll(
      `SELECT to_json(protocol) AS protocol, to_json(metaData) AS metaData, to_json(txn) AS txn, to_json(add) AS "add"
       FROM read_parquet(${sqlString(file)})`,
    )
  ).getRowObjectsJS();
  const mapObject = (m) => (Array.isArray(m) ? Object.fromEntries(m.map((kv) => [kv.key, kv.value])) : m ?? {});
  const actions = [];
  for (const r of rows) {
    if (r.protocol) actions.push({ protocol: JSON.parse(r.protocol) });
    if (r.metaData) {
      const m = JSON.parse(r.metaData);
      m.configuration = mapObject(m.configuration);
      actions.push({ metaData: m });
    }
    if (r.txn) actions.push({ txn: JSON.parse(r.txn) });
    if (r.add) {
      const a = JSON.parse(r.add);
      a.partitionValues = mapObject(a.partitionValues);
      actions.push({ add: a });
    }
  }
  return { rows: rows.length, actions };
}

// replay builds the table state: from version 0 when it exists (checking each
// checkpoint against the replay), else from the newest checkpoint.
async function replay(con, table) {
  const { dir, commits, checkpoints } = listLog(table);
  if (commits.length === 0 && checkpoints.length === 0) throw new Error(`${dir} holds no commits`);
  const state = newState();
  const last = commits.at(-1) ?? checkpoints.at(-1);
  let from = 0;
  if (!commits.includes(0)) {
    const cp = checkpoints.filter((c) => c <= last).at(-1);
    if (cp === undefined) throw new Error(`${pad(0)}.json is missing and there is no checkpoint`);
    const { actions } = await readCheckpoint(con, dir, cp);
    actions.forEach((a) => apply(state, a, `checkpoint ${cp}`));
    state.version = cp;
    from = cp + 1;
    console.log(`log: starting from checkpoint ${cp} (earlier commits are gone)`);
  }
  for (let v = from; v <= last; v++) {
    if (!commits.includes(v)) {
      fail(`${pad(v)}.json is missing: the log has versions up to ${last}`);
      break;
    }
    readCommit(state, dir, v);
    if (checkpoints.includes(v)) state.snapshots.set(v, new Set(state.adds.keys()));
  }
  return { dir, commits, checkpoints, state };
}

// checkCheckpoints compares each checkpoint with the replayed log, and
// _last_checkpoint with the checkpoints.
async function checkCheckpoints(con, { dir, checkpoints, state }) {
  const ok = [];
  for (const v of checkpoints) {
    const want = state.snapshots.get(v);
    let cp;
    try {
      cp = await readCheckpoint(con, dir, v);
    } catch (e) {
      fail(`checkpoint ${v}: DuckDB cannot read it: ${e.message}`);
      continue;
    }
    const paths = new Set(cp.actions.filter((a) => a.add).map((a) => a.add.path));
    const protocols = cp.actions.filter((a) => a.protocol).length;
    const metas = cp.actions.filter((a) => a.metaData).length;
    if (protocols !== 1 || metas !== 1) fail(`checkpoint ${v}: ${protocols} protocol and ${metas} metaData rows, want 1 each`);
    if (want) {
      const missing = [...want].filter((p) => !paths.has(p));
      const extra = [...paths].filter((p) => !want.has(p));
      if (missing.length || extra.length) {
        fail(`checkpoint ${v}: ${paths.size} files, the log replayed to version ${v} has ${want.size} (${missing.length} missing, ${extra.length} extra)`);
      }
    }
    ok.push(`${v} (${cp.rows} actions)`);
  }
  const hintFile = path.join(dir, '_last_checkpoint');
  let hint = '';
  if (fs.existsSync(hintFile)) {
    try {
      const h = JSON.parse(fs.readFileSync(hintFile, 'utf8'));
      if (!checkpoints.includes(h.version)) fail(`_last_checkpoint points at version ${h.version}, which has no checkpoint`);
      else if (h.version !== checkpoints.at(-1)) console.log(`note: _last_checkpoint (${h.version}) is not the newest checkpoint (${checkpoints.at(-1)})`);
      hint = `; _last_checkpoint -> ${h.version}`;
    } catch (e) {
      fail(`_last_checkpoint: ${e.message}`);
    }
  }
  if (checkpoints.length) console.log(`checkpoints: ${ok.join(', ')}${hint}`);
}

// ---- the schema ---------------------------------------------------------------------------

// duckType maps a Delta schema type to the DuckDB type read_parquet reports.
function duckType(t) {
  if (typeof t === 'string') {
    const simple = {
      long: 'BIGINT', integer: 'INTEGER', short: 'SMALLINT', byte: 'TINYINT', float: 'FLOAT', double: 'DOUBLE',
      boolean: 'BOOLEAN', string: 'VARCHAR', binary: 'BLOB', date: 'DATE', timestamp: 'TIMESTAMP WITH TIME ZONE',
      timestamp_ntz: 'TIMESTAMP',
    }[t];
    if (simple) return simple;
    const dec = /^decimal\((\d+),\s*(\d+)\)$/.exec(t);
    if (dec) return `DECIMAL(${dec[1]},${dec[2]})`;
    return `?${t}`;
  }
  if (t.type === 'array') return `${duckType(t.elementType)}[]`;
  if (t.type === 'map') return `MAP(${duckType(t.keyType)}, ${duckType(t.valueType)})`;
  if (t.type === 'struct') return `STRUCT(${t.fields.map((f) => `${f.name} ${duckType(f.type)}`).join(', ')})`;
  return `?${JSON.stringify(t)}`;
}

// topLevel returns a file's top-level Parquet columns from parquet_schema rows.
function topLevel(rows) {
  const cols = [];
  let i = 1;
  const skip = (j) => {
    let next = j + 1;
    for (let c = 0; c < num(rows[j].num_children ?? 0); c++) next = skip(next);
    return next;
  };
  const rootChildren = num(rows[0].num_children);
  for (let c = 0; c < rootChildren; c++) {
    cols.push({ name: rows[i].name, repetition: rows[i].repetition_type });
    i = skip(i);
  }
  return cols;
}

// checkSchema compares every data file with schemaString: the columns (all
// but the partition columns), their DuckDB types, and REQUIRED for
// non-nullable columns.
async function checkSchema(con, table, state, files) {
  const meta = state.metaData;
  const schema = JSON.parse(meta.schemaString);
  const partitionCols = meta.partitionColumns ?? [];
  for (const p of partitionCols) {
    const f = schema.fields.find((x) => x.name === p);
    if (!f) fail(`partition column ${p} is not in the schema`);
    else if (f.type !== 'string') console.log(`note: partition column ${p} has type ${JSON.stringify(f.type)}`);
  }
  const dataFields = schema.fields.filter((f) => !partitionCols.includes(f.name));
  if (files.length === 0) return schema;
  const rows = (
    await con.runAndReadAll(
      `SELECT file_name, name, repetition_type, num_children FROM parquet_schema(${sqlList(files.map((f) => path.join(table, f)))})`,
    )
  ).getRowObjectsJS();
  const byFile = new Map();
  for (const r of rows) {
    if (!byFile.has(r.file_name)) byFile.set(r.file_name, []);
    byFile.get(r.file_name).push(r);
  }
  const shapes = new Map(); // signature → a file with it
  for (const [file, fr] of byFile) {
    const cols = topLevel(fr);
    const names = cols.map((c) => c.name);
    const want = dataFields.map((f) => f.name);
    const missing = want.filter((n) => !names.includes(n));
    const extra = names.filter((n) => !want.includes(n));
    if (missing.length || extra.length) {
      fail(`${path.relative(table, file)}: columns differ from the schema (missing ${missing.join(', ') || '-'}; extra ${extra.join(', ') || '-'})`);
    }
    for (const f of dataFields) {
      const c = cols.find((x) => x.name === f.name);
      if (c && !f.nullable && c.repetition !== 'REQUIRED') fail(`${path.relative(table, file)}: non-nullable column ${f.name} is ${c.repetition}`);
    }
    const sig = JSON.stringify(fr.map((r) => [r.name, r.repetition_type, num(r.num_children)]));
    if (!shapes.has(sig)) shapes.set(sig, file);
  }
  for (const file of shapes.values()) {
    const described = (await con.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file)})`)).getRowObjectsJS();
    for (const f of dataFields) {
      const d = described.find((x) => x.column_name === f.name);
      if (d && d.column_type !== duckType(f.type)) {
        fail(`${path.relative(table, file)}: column ${f.name} reads as ${d.column_type}, the schema says ${JSON.stringify(f.type)} (${duckType(f.type)})`);
      }
    }
  }
  console.log(`schema: ${schema.fields.length} columns (${dataFields.length} in the files, partitioned by ${partitionCols.join(', ') || 'nothing'}); ${shapes.size} distinct file layout(s)`);
  return schema;
}

// ---- the data files -----------------------------------------------------------------------

// checkFiles reads every live file with DuckDB and compares counts, partitions and stats.
async function checkFiles(con, table, state, schema) {
  const partitionCols = state.metaData.partitionColumns ?? [];
  const adds = [...state.adds.values()];
  const present = [];
  for (const a of adds) {
    const file = path.join(table, decodeURIComponent(a.path));
    const keys = Object.keys(a.partitionValues ?? {}).sort();
    if (JSON.stringify(keys) !== JSON.stringify([...partitionCols].sort())) {
      fail(`${a.path}: partitionValues ${JSON.stringify(a.partitionValues)} do not match partition columns ${partitionCols}`);
    }
    const prefix = partitionCols.map((c) => `${c}=${a.partitionValues?.[c]}/`).join('');
    if (!a.path.startsWith(prefix)) fail(`${a.path}: not under its partition directory ${prefix}`);
    if (!fs.existsSync(file)) {
      fail(`${a.path} (${a.addedIn}) is missing on disk`);
      continue;
    }
    const size = fs.statSync(file).size;
    if (num(a.size) !== size) fail(`${a.path}: add.size ${a.size}, file has ${size} bytes`);
    try {
      a.parsedStats = a.stats ? JSON.parse(a.stats) : null;
    } catch (e) {
      fail(`${a.path}: stats are not JSON: ${e.message}`);
    }
    if (!a.parsedStats) fail(`${a.path}: no stats`);
    present.push(a);
  }
  if (present.length === 0) return { rows: 0, partitions: new Map() };

  const fieldType = new Map(schema.fields.map((f) => [f.name, f.type]));
  const statCols = [...new Set(present.flatMap((a) => Object.keys(a.parsedStats?.minValues ?? {})))];
  for (const c of statCols) {
    if (!fieldType.has(c)) fail(`stats name column ${c}, which is not in the schema`);
  }
  const numericStats = statCols.filter((c) => ['long', 'integer', 'short', 'byte'].includes(fieldType.get(c)));
  const timeStats = statCols.filter((c) => ['timestamp', 'timestamp_ntz'].includes(fieldType.get(c)));
  const hasSeenDay = partitionCols.includes('seen_date') && fieldType.get('seen') === 'timestamp';
  const select = ['filename', 'count(*) AS n'];
  numericStats.forEach((c, i) => select.push(`min(${sqlIdent(c)}) AS n_lo${i}`, `max(${sqlIdent(c)}) AS n_hi${i}`, `count(*) - count(${sqlIdent(c)}) AS n_null${i}`));
  timeStats.forEach((c, i) => select.push(`epoch_us(min(${sqlIdent(c)})) AS t_lo${i}`, `epoch_us(max(${sqlIdent(c)})) AS t_hi${i}`, `count(*) - count(${sqlIdent(c)}) AS t_null${i}`));
  if (hasSeenDay) select.push(`min(strftime(make_timestamp(epoch_us(seen)), '%Y-%m-%d')) AS day_lo`, `max(strftime(make_timestamp(epoch_us(seen)), '%Y-%m-%d')) AS day_hi`);
  const byPath = new Map(present.map((a) => [path.resolve(table, decodeURIComponent(a.path)), a]));
  let result;
  try {
    result = (
      await con.runAndReadAll(
        `SELECT ${select.join(', ')} FROM read_parquet(${sqlList([...byPath.keys()])}, filename = true) GROUP BY filename`,
      )
    ).getRowObjectsJS();
  } catch (e) {
    fail(`DuckDB cannot read the data files: ${e.message}`);
    return { rows: 0, partitions: new Map() };
  }
  let rows = 0;
  const partitions = new Map();
  const seenFiles = new Set();
  for (const r of result) {
    const a = byPath.get(path.resolve(r.filename));
    if (!a) {
      fail(`DuckDB returned rows of an unexpected file ${r.filename}`);
      continue;
    }
    seenFiles.add(a.path);
    const n = num(r.n);
    rows += n;
    const key = partitionCols.map((c) => `${c}=${a.partitionValues?.[c]}`).join('/') || '(unpartitioned)';
    const p = partitions.get(key) ?? { rows: 0, files: 0 };
    p.rows += n;
    p.files++;
    partitions.set(key, p);
    const st = a.parsedStats;
    if (!st) continue;
    if (num(st.numRecords) !== n) fail(`${a.path}: stats.numRecords ${st.numRecords}, DuckDB reads ${n} rows`);
    numericStats.forEach((c, i) => {
      if (st.minValues?.[c] === undefined) return;
      if (st.minValues[c] !== num(r[`n_lo${i}`]) || st.maxValues?.[c] !== num(r[`n_hi${i}`])) {
        fail(`${a.path}: ${c} stats [${st.minValues[c]}, ${st.maxValues?.[c]}], data [${r[`n_lo${i}`]}, ${r[`n_hi${i}`]}]`);
      }
      if (st.nullCount?.[c] !== undefined && st.nullCount[c] !== num(r[`n_null${i}`])) fail(`${a.path}: ${c} nullCount ${st.nullCount[c]}, data ${r[`n_null${i}`]}`);
    });
    timeStats.forEach((c, i) => {
      if (st.minValues?.[c] === undefined) return;
      // Delta stats hold milliseconds: they must bound the data, within 1 ms.
      const lo = Date.parse(st.minValues[c]) * 1000;
      const hi = Date.parse(st.maxValues?.[c]) * 1000;
      const dlo = num(r[`t_lo${i}`]);
      const dhi = num(r[`t_hi${i}`]);
      if (!(lo <= dlo && dlo - lo < 1000 && hi >= dhi && hi - dhi < 1000)) {
        fail(`${a.path}: ${c} stats [${st.minValues[c]}, ${st.maxValues?.[c]}] do not bound the data [${new Date(dlo / 1000).toISOString()}, ${new Date(dhi / 1000).toISOString()}]`);
      }
      if (st.nullCount?.[c] !== undefined && st.nullCount[c] !== num(r[`t_null${i}`])) fail(`${a.path}: ${c} nullCount ${st.nullCount[c]}, data ${r[`t_null${i}`]}`);
    });
    if (hasSeenDay && (r.day_lo !== a.partitionValues.seen_date || r.day_hi !== a.partitionValues.seen_date)) {
      fail(`${a.path}: partition seen_date=${a.partitionValues.seen_date} holds rows seen on ${r.day_lo}..${r.day_hi} (UTC)`);
    }
  }
  for (const a of present) {
    if (!seenFiles.has(a.path) && num(a.parsedStats?.numRecords ?? 0) !== 0) fail(`${a.path}: DuckDB read no rows, stats say ${a.parsedStats.numRecords}`);
  }
  const total = num((await con.runAndReadAll(`SELECT count(*) AS n FROM read_parquet(${sqlList([...byPath.keys()])})`)).getRowObjectsJS()[0].n);
  if (total !== rows) fail(`DuckDB counts ${total} rows over all files, ${rows} file by file`);
  const statsTotal = present.reduce((s, a) => s + num(a.parsedStats?.numRecords ?? 0), 0);
  if (statsTotal !== total) fail(`the log's stats add up to ${statsTotal} rows, DuckDB reads ${total}`);
  return { rows: total, partitions };
}

// orphans counts data files on disk that no add refers to (left by an
// interrupted write: harmless, never read).
function orphans(table, state) {
  const live = new Set([...state.adds.keys()].map((p) => path.resolve(table, decodeURIComponent(p))));
  let n = 0;
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== '_delta_log') walk(p);
      } else if (e.name.endsWith('.parquet') && !live.has(path.resolve(p))) n++;
    }
  };
  walk(table);
  return n;
}

// ---- main ---------------------------------------------------------------------------------

async function main() {
  const table = process.argv[2] ?? process.env.TABLE;
  if (!table) {
    console.error('usage: node verify.mjs TABLE   (or make verify-delta TABLE=path)');
    process.exit(2);
  }
  const { DuckDBInstance } = await loadDuckDB();
  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  const log = await replay(con, table);
  const { state } = log;
  if (!state.protocol) fail('the log has no protocol action');
  if (!state.metaData) fail('the log has no metaData action');
  if (!state.protocol || !state.metaData) return;
  console.log(
    `table ${table}: version ${state.version}, ${log.commits.length} commit files, protocol reader ${state.protocol.minReaderVersion} / writer ${state.protocol.minWriterVersion}, ${state.adds.size} live files`,
  );
  if (state.metaData.format?.provider !== 'parquet') fail(`format provider ${state.metaData.format?.provider}, want parquet`);
  let schema;
  try {
    schema = await checkSchema(con, table, state, [...state.adds.keys()].map(decodeURIComponent).filter((p) => fs.existsSync(path.join(table, p))));
  } catch (e) {
    fail(`schema: ${e.message}`);
    return;
  }
  const { rows, partitions } = await checkFiles(con, table, state, schema);
  console.log(`rows: ${rows} in ${state.adds.size} files`);
  for (const [key, p] of [...partitions].sort()) console.log(`  ${key}: ${p.rows} rows in ${p.files} files`);
  await checkCheckpoints(con, log);
  if (state.txns.size) console.log(`txn: ${[...state.txns].map(([app, v]) => `${app} -> ${v}`).join(', ')}`);
  const stray = orphans(table, state);
  if (stray) console.log(`note: ${stray} uncommitted data file(s) on disk (left by interrupted writes; never read)`);
}

try {
  await main();
} catch (e) {
  fail(e.message);
}
if (problems.length) {
  for (const p of problems) console.log(`FAIL: ${p}`);
  console.log(`verify-delta: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log('verify-delta: OK');
