/**
 * Many short AES-128-CBC chains that all start from the same IV (HLS SAMPLE-AES restarts the chain at
 * every NAL unit and every audio frame), through ONE Node cipher: creating a cipher per chain costs
 * more than encrypting a typical 16..200-byte chain.
 *
 * A new chain is started by XORing its first plaintext block with IV ^ (the cipher's last ciphertext
 * block): the running cipher XORs that block with its last ciphertext again, so what gets enciphered
 * is P0 ^ IV — exactly what a fresh cipher would encipher. (The same trick as cbcs-cipher.ts.)
 */
import { type Cipher, createCipheriv } from 'node:crypto';
import { ErrorCode, PackagerError } from '../media/errors.js';

export const AES_BLOCK = 16;

export class CbcChains {
  private readonly cipher: Cipher;
  private readonly iv: Uint8Array;
  /** The cipher's last ciphertext block: what it will XOR its next plaintext block with. */
  private readonly last: Uint8Array;

  constructor(key: Uint8Array, iv: Uint8Array) {
    if (key.length !== AES_BLOCK || iv.length !== AES_BLOCK) {
      throw new PackagerError(ErrorCode.ENCRYPTION_FAILURE, `AES-128-CBC needs a 16-byte key and IV, got ${key.length} and ${iv.length}`);
    }
    this.cipher = createCipheriv('aes-128-cbc', key, iv).setAutoPadding(false);
    this.iv = Uint8Array.from(iv);
    this.last = Uint8Array.from(iv);
  }

  /**
   * Encrypts buf[at, at + length) in place as one fresh chain from the IV. `length` must be a
   * positive multiple of 16 (a Node CBC cipher would silently hold back a partial block).
   */
  encryptChain(buf: Uint8Array, at: number, length: number): void {
    if (length <= 0 || length % AES_BLOCK !== 0) {
      throw new PackagerError(ErrorCode.ENCRYPTION_FAILURE, `CBC chain of ${length} bytes is not whole blocks`);
    }
    const iv = this.iv;
    const last = this.last;
    for (let i = 0; i < AES_BLOCK; i++) buf[at + i] = buf[at + i]! ^ iv[i]! ^ last[i]!;
    const out = this.cipher.update(buf.subarray(at, at + length));
    if (out.length !== length) {
      throw new PackagerError(ErrorCode.ENCRYPTION_FAILURE, `CBC returned ${out.length} bytes for ${length}`);
    }
    buf.set(out, at);
    for (let i = 0; i < AES_BLOCK; i++) last[i] = out[length - AES_BLOCK + i]!;
  }
}
