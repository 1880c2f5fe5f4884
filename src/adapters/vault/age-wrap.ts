/** Wraps a data key for one recipient with `age-encryption`, as sops writes `sops.age[].enc`. */
import { armor, Encrypter } from 'age-encryption'

/** One armored age file per recipient (sops never puts several stanzas in one `enc`). */
export async function wrapDataKey(dataKey: Uint8Array, recipient: string): Promise<string> {
  const encrypter = new Encrypter()
  encrypter.addRecipient(recipient)
  return armor.encode(await encrypter.encrypt(dataKey))
}
