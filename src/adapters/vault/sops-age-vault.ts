/**
 * The Vault port over a governance repository of SOPS files encrypted with age.
 * Reads YAML, JSON and dotenv; writes the same; verifies the MAC itself; opens
 * age stanzas with native crypto. Every failure is a VaultError naming the file.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { parsePlaceholder } from '../../rotation/placeholder.js'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join, posix, sep } from 'node:path'
import { UsageError, VaultError, type VaultErrorCode } from '../../errors.js'
import type {
  DecryptedSecret,
  RekeyOutcome,
  SecretInspection,
  Vault,
  VaultPurpose,
} from '../../ports/vault.js'
import type { VaultAccess } from '../../records.js'
import { AgeFormatError, decryptAgeArmored } from './age-unwrap.js'
import { wrapDataKey } from './age-wrap.js'
import { findCreationRule, type CreationRule } from './creation-rules.js'
import type { AgeIdentity } from './identities.js'
import {
  DocumentError,
  emitSopsDocument,
  formatForPath,
  parseSopsDocument,
  type ParsedDocument,
  type SopsFormat,
} from './sops-document.js'
import { formatLastModified } from './sops-mac.js'
import { readWrittenLayout } from './sops-written-layout.js'
import {
  metadataTree,
  MetadataError,
  readAgeStanzas,
  readMetadata,
  SOPS_WRITTEN_VERSION,
  type AgeStanza,
  type SopsMetadata,
} from './sops-metadata.js'
import {
  decryptTree,
  encryptTree,
  isSopsMap,
  reencryptTree,
  toPlainValue,
  TreeError,
  type SopsMap,
} from './sops-tree.js'
import { openValue, parseEncryptedValue, sealValue } from './sops-value.js'

export interface SopsAgeVaultOptions {
  /** The governance repository; every path is relative to it. */
  root: string
  /** Loads the age identities, on first decryption (see createIdentityLoader). */
  identities: () => Promise<readonly AgeIdentity[]>
  /** Called with every decrypted string value the moment it exists (core.setSecret in the action). */
  mask?: (value: string) => void
  /** The clock, for `lastmodified` and access times. */
  now: () => Date
  /** Who decrypts: the GitHub run, or the local user; recorded in VaultAccess. */
  actor: string
  /** The sops config, relative to root. */
  configFile?: string
}

const DATA_KEY_SIZE = 32

const ENC_MARKER = 'ENC[AES256_GCM,'
const RESTORE_HINT =
  'Restore it from git history (git log -p -- <file>) or write the key again with `keyward vault add`.'

interface Opened {
  /** The data, one branch per YAML document, values still encrypted. */
  branches: SopsMap[]
  meta: SopsMetadata
  dataKey: Buffer
}

/**
 * Key files are read synchronously: they are a few KB, and fs/promises' readFile
 * costs about 0.2 ms of CPU per file in thread-pool round trips, ten times a sync
 * read; that difference decides whether an audit of 1,000 keys fits in 300 ms.
 */
function readKeyFile(path: string): string {
  return readFileSync(path, 'utf8')
}

/** A relative path that normalizing leaves as it is: no `.`/`..`/empty segments, no backslash. */
const PLAIN_PATH = /^[\w-][\w.-]*(?:\/[\w-][\w.-]*)*$/

function normalizePath(path: string): string {
  if (PLAIN_PATH.test(path)) return path
  return posix.normalize(path.replaceAll('\\', '/')).replace(/^\.\//, '')
}

/** The items that match first, each part in its original order (a stable sort on `matches`). */
function matchingFirst<T>(items: readonly T[], matches: (item: T) => boolean): readonly T[] {
  if (items.length < 2) return items
  return [...items.filter(matches), ...items.filter((item) => !matches(item))]
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
}

export class SopsAgeVault implements Vault {
  private readonly configFile: string
  /** What join(root, file) puts before a plain file: the root normalized once. */
  private readonly rootPrefix: string

  constructor(private readonly options: SopsAgeVaultOptions) {
    this.configFile = options.configFile ?? '.sops.yaml'
    this.rootPrefix = join(options.root, '_').slice(0, -1)
  }

  async inspect(path: string): Promise<SecretInspection> {
    const file = normalizePath(path)
    let text: string
    try {
      text = readKeyFile(this.keyFilePath(file))
    } catch (error) {
      if (isNotFound(error)) return { kind: 'missing' }
      throw new VaultError('malformed', file, `${file} cannot be read`, { cause: error })
    }
    const pending = parsePlaceholder(text)
    if (pending) return { kind: 'pending-rotation', ...pending }
    const format = formatForPath(file)
    if (format === undefined) {
      return { kind: 'plaintext', reason: 'not a .yaml, .json or .env file' }
    }
    // A file with ciphertext but unreadable metadata is a damaged SOPS file, not a
    // plaintext one: report it as sops so that a decryption names the damage.
    const hasCiphertext = text.includes(ENC_MARKER)
    let parsed: ParsedDocument
    try {
      parsed = parseSopsDocument(text, format)
    } catch (error) {
      if (hasCiphertext) return { kind: 'sops', recipients: [], lastModified: undefined }
      return { kind: 'plaintext', reason: error instanceof Error ? error.message : 'unparsable' }
    }
    const { metadata } = parsed
    if (metadata === undefined || metadata === null || !isSopsMap(metadata)) {
      return hasCiphertext
        ? { kind: 'sops', recipients: [], lastModified: undefined }
        : { kind: 'plaintext', reason: 'no sops metadata: the file is not encrypted' }
    }
    let stanzas: AgeStanza[] = []
    try {
      stanzas = readAgeStanzas(metadata)
    } catch {
      // Unreadable stanzas: a decryption reports exactly what is wrong.
    }
    const lastModified = metadata.entries.find((e) => e.key === 'lastmodified')?.value
    if (stanzas.length === 0 && !hasCiphertext) {
      return { kind: 'plaintext', reason: 'a SOPS document without age recipients' }
    }
    return {
      kind: 'sops',
      recipients: stanzas.map((s) => s.recipient),
      lastModified: typeof lastModified === 'string' ? lastModified : undefined,
    }
  }

  async expectedRecipients(path: string): Promise<string[] | undefined> {
    return (await this.creationRule(normalizePath(path)))?.recipients
  }

  async decrypt(path: string, purpose: VaultPurpose, keyId?: string): Promise<DecryptedSecret> {
    const file = normalizePath(path)
    const opened = await this.open(file)
    const first = this.verify(file, opened).branches[0]
    // The port hands out one mapping; a multi-document file yields its first document.
    const values = (first ? toPlainValue(first) : {}) as Record<string, unknown>
    return { values, access: this.access(file, keyId, purpose) }
  }

  async encrypt(path: string, values: Record<string, string>): Promise<void> {
    const file = normalizePath(path)
    await this.writeAtomic(file, await this.seal(file, values))
  }

  async seal(path: string, values: Record<string, string>): Promise<string> {
    const file = normalizePath(path)
    const format = this.formatOf(file)
    const rule = await this.requireCreationRule(file)
    const entries = Object.entries(values).map(([key, value]) => {
      if (
        key === '' ||
        key === 'sops' ||
        (format === 'dotenv' && (key.startsWith('sops_') || /[=\n]/.test(key)))
      ) {
        throw new VaultError(
          'malformed',
          file,
          `cannot write key "${key}" into ${file}: the name is empty or reserved`,
        )
      }
      if (typeof value !== 'string') {
        throw new VaultError(
          'malformed',
          file,
          `cannot write ${file}: the value of "${key}" is not a string`,
        )
      }
      return { key, value }
    })
    const branch: SopsMap = { kind: 'map', entries }
    const dataKey = randomBytes(DATA_KEY_SIZE)
    const options = { rule: rule.rule, macOnlyEncrypted: rule.macOnlyEncrypted }
    const encrypted = encryptTree([branch], dataKey, options)
    return this.render(file, format, encrypted.branches, {
      dataKey,
      mac: encrypted.mac,
      recipients: rule.recipients,
      rule: options,
      version: SOPS_WRITTEN_VERSION,
    })
  }

  async rekey(path: string, keyId?: string): Promise<RekeyOutcome> {
    const file = normalizePath(path)
    const format = this.formatOf(file)
    const opened = await this.open(file)
    this.verify(file, opened)
    const rule = await this.requireCreationRule(file)
    const newKey = randomBytes(DATA_KEY_SIZE)
    const { meta } = opened
    const options = { rule: meta.rule, macOnlyEncrypted: meta.macOnlyEncrypted }
    let moved
    try {
      moved = reencryptTree(opened.branches, opened.dataKey, newKey, {
        ...options,
        onString: this.options.mask,
      })
    } catch (error) {
      throw this.treeError(file, error)
    }
    // The file's own encryption rule and version stay: rekey changes keys, not which values are encrypted.
    const text = await this.render(file, format, moved.branches, {
      dataKey: newKey,
      mac: moved.mac,
      recipients: rule.recipients,
      rule: options,
      version: meta.version,
    })
    await this.writeAtomic(file, text)
    return {
      recipientsBefore: meta.age.map((s) => s.recipient),
      recipientsAfter: rule.recipients,
      access: this.access(file, keyId, 'rekey'),
    }
  }

  // ------------------------------------------------------------ internals

  /** `join(root, file)`, without normalizing the root again for a plain POSIX path. */
  private keyFilePath(file: string): string {
    return sep === '/' && PLAIN_PATH.test(file)
      ? this.rootPrefix + file
      : join(this.options.root, file)
  }

  private access(file: string, keyId: string | undefined, purpose: VaultPurpose): VaultAccess {
    return { file, keyId, at: this.options.now().toISOString(), actor: this.options.actor, purpose }
  }

  private formatOf(file: string): SopsFormat {
    const format = formatForPath(file)
    if (format === undefined) {
      throw new VaultError(
        'unsupported',
        file,
        `${file}: keyward reads and writes .yaml, .json and .env SOPS files, not sops' binary format`,
      )
    }
    return format
  }

  private async creationRule(file: string): Promise<CreationRule | undefined> {
    let text: string
    try {
      text = await readFile(join(this.options.root, this.configFile), 'utf8')
    } catch (error) {
      if (isNotFound(error)) return undefined
      throw new VaultError('malformed', this.configFile, `${this.configFile} cannot be read`, {
        cause: error,
      })
    }
    return findCreationRule(text, file, this.configFile)
  }

  private async requireCreationRule(file: string): Promise<CreationRule> {
    const rule = await this.creationRule(file)
    if (rule === undefined) {
      throw new UsageError(
        `no creation rule in ${this.configFile} matches ${file}: add a rule whose path_regex matches it, with the age recipients to encrypt to`,
      )
    }
    return rule
  }

  /** Reads the file and recovers its data key. */
  private async open(file: string): Promise<Opened> {
    const { branches, meta } = this.read(file)
    const dataKey = this.unwrapDataKey(file, meta.age, await this.options.identities())
    return { branches, meta, dataKey }
  }

  /** Reads and parses the file and checks its metadata. */
  private read(file: string): { branches: SopsMap[]; meta: SopsMetadata } {
    const format = this.formatOf(file)
    const text = this.readText(file)
    // The layout keyward writes is read directly; the general path gives the same result.
    return (
      (format === 'yaml' ? readWrittenLayout(text) : undefined) ?? this.parse(file, format, text)
    )
  }

  private readText(file: string): string {
    try {
      return readKeyFile(this.keyFilePath(file))
    } catch (error) {
      if (isNotFound(error)) {
        throw new VaultError(
          'missing',
          file,
          `${file} does not exist; write it with \`keyward vault add\``,
        )
      }
      throw new VaultError('malformed', file, `${file} cannot be read`, { cause: error })
    }
  }

  /** Parses any SOPS document and checks its metadata. */
  private parse(
    file: string,
    format: SopsFormat,
    text: string,
  ): { branches: SopsMap[]; meta: SopsMetadata } {
    const damaged = `; the file looks truncated or edited. ${RESTORE_HINT}`
    let parsed: ParsedDocument
    try {
      parsed = parseSopsDocument(text, format)
    } catch (error) {
      const reason = error instanceof DocumentError ? error.message : 'unparsable'
      throw new VaultError('malformed', file, `${file} cannot be parsed (${reason})${damaged}`)
    }
    if (parsed.metadata === undefined) {
      if (text.includes(ENC_MARKER)) {
        throw new VaultError(
          'malformed',
          file,
          `${file} holds encrypted values but no sops metadata${damaged}`,
        )
      }
      throw new VaultError(
        'not-sops',
        file,
        `${file} is not a SOPS file (no sops metadata). If it holds a key in cleartext, remove it and write it with \`keyward vault add\`.`,
      )
    }
    let meta: SopsMetadata
    try {
      meta = readMetadata(parsed.metadata)
    } catch (error) {
      if (error instanceof MetadataError) {
        const hint = error.kind === 'malformed' ? damaged : '.'
        throw new VaultError(error.kind, file, `${file}: ${error.message}${hint}`)
      }
      throw error
    }
    if (meta.mac === undefined) {
      throw new VaultError(
        'mac-missing',
        file,
        `${file} has no sops.mac, so its values cannot be verified (removed outside sops?). ${RESTORE_HINT}`,
      )
    }
    return { branches: parsed.branches, meta }
  }

  private unwrapDataKey(
    file: string,
    stanzas: readonly AgeStanza[],
    identities: readonly AgeIdentity[],
  ): Buffer {
    const ours = new Set(identities.map((id) => id.recipient))
    // sops tries every identity on every stanza; trying the matching ones first saves X25519 work.
    const ordered = matchingFirst(stanzas, (stanza) => ours.has(stanza.recipient))
    let failure: { code: VaultErrorCode; reason: string } | undefined
    for (const stanza of ordered) {
      const preferred = matchingFirst(identities, (id) => id.recipient === stanza.recipient)
      try {
        const key = decryptAgeArmored(stanza.enc, preferred)
        if (key === undefined) continue
        if (key.length === DATA_KEY_SIZE) return key
        failure = {
          code: 'malformed',
          reason: `the age stanza for ${stanza.recipient} does not hold a 32-byte data key`,
        }
      } catch (error) {
        if (!(error instanceof AgeFormatError)) throw error
        // An authentication failure after a stanza opened is tampering; keep the worst.
        if (failure?.code !== 'decrypt-failed') {
          failure = {
            code: error.kind === 'corrupt' ? 'decrypt-failed' : 'malformed',
            reason: `the age stanza for ${stanza.recipient}: ${error.message}`,
          }
        }
      }
    }
    if (failure)
      throw new VaultError(failure.code, file, `${file}: ${failure.reason}. ${RESTORE_HINT}`)
    const theirs = stanzas.map((s) => s.recipient).join(', ')
    throw new VaultError(
      'wrong-identity',
      file,
      `${file}: none of your age identities (${[...ours].join(', ')}) opens it; it is encrypted to ${theirs}. ` +
        'Use an identity listed in .sops.yaml, or ask someone who holds one to run `keyward vault rekey`.',
    )
  }

  private treeError(file: string, error: unknown): VaultError {
    if (!(error instanceof TreeError)) throw error
    const where = `${file}: the value at ${error.path.join('.') || '(top level)'}`
    if (error.kind === 'malformed') {
      return new VaultError(
        'malformed',
        file,
        `${where} is malformed (${error.message}). ${RESTORE_HINT}`,
      )
    }
    return new VaultError('decrypt-failed', file, `${where} ${error.message}. ${RESTORE_HINT}`)
  }

  /** Decrypts every value and checks the MAC; nothing is returned unless all of it holds. */
  private verify(file: string, opened: Opened): { branches: SopsMap[] } {
    const { meta, dataKey } = opened
    let result
    try {
      result = decryptTree(opened.branches, dataKey, {
        rule: meta.rule,
        macOnlyEncrypted: meta.macOnlyEncrypted,
        onString: this.options.mask,
      })
    } catch (error) {
      throw this.treeError(file, error)
    }
    let stored
    try {
      stored = parseEncryptedValue(meta.mac ?? '')
    } catch (error) {
      const reason = error instanceof Error ? error.message : 'malformed'
      throw new VaultError(
        'malformed',
        file,
        `${file}: sops.mac is malformed (${reason}). ${RESTORE_HINT}`,
      )
    }
    const mac = openValue(stored, dataKey, meta.macAad)?.toString('utf8')
    if (mac === undefined) {
      throw new VaultError(
        'mac-mismatch',
        file,
        `${file}: sops.mac fails authentication, so lastmodified or the mac itself was changed outside sops. ${RESTORE_HINT}`,
      )
    }
    if (mac !== result.mac) {
      throw new VaultError(
        'mac-mismatch',
        file,
        `${file}: MAC mismatch: values were edited, added, removed or reordered outside sops. ${RESTORE_HINT}`,
      )
    }
    return result
  }

  private async render(
    file: string,
    format: SopsFormat,
    branches: SopsMap[],
    input: {
      dataKey: Buffer
      mac: string
      recipients: readonly string[]
      rule: { rule: SopsMetadata['rule']; macOnlyEncrypted: boolean }
      version: string
    },
  ): Promise<string> {
    const lastModified = formatLastModified(this.options.now())
    const age = await Promise.all(
      input.recipients.map(async (recipient) => ({
        recipient,
        enc: await wrapDataKey(input.dataKey, recipient),
      })),
    )
    const metadata = metadataTree({
      age,
      lastModified,
      mac: sealValue(Buffer.from(input.mac), 'str', input.dataKey, lastModified),
      rule: input.rule.rule,
      macOnlyEncrypted: input.rule.macOnlyEncrypted,
      version: input.version,
    })
    let text: string
    try {
      text = emitSopsDocument(format, branches, metadata)
    } catch (error) {
      const reason = error instanceof Error ? error.message : 'cannot be written'
      throw new VaultError('unsupported', file, `${file} cannot be written as ${format}: ${reason}`)
    }
    return text
  }

  private async writeAtomic(file: string, text: string): Promise<void> {
    // Write beside the target and rename, so a crash never leaves a truncated key file.
    const target = join(this.options.root, file)
    await mkdir(dirname(target), { recursive: true })
    const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`
    try {
      await writeFile(temp, text, { encoding: 'utf8', mode: 0o644 })
      await rename(temp, target)
    } catch (error) {
      await rm(temp, { force: true })
      throw error
    }
  }
}
