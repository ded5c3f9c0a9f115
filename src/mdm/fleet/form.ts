/**
 * The `multipart/form-data` bodies Fleet's API takes: every write of a profile or a package is a form. A body with
 * a file (the pkg, a profile) is src/net/multipart.ts's streamed body (bounded memory, exact length known); a form
 * of text fields alone (changing a package's install script or labels without sending the pkg again) is built here
 * as bytes. Field names are Fleet's, fixed in this module's callers; values are text we made (a script, a label
 * name, an id).
 */
import { randomBytes } from 'node:crypto';
import { multipartFileBody, type MultipartBody, type MultipartFile } from '../../net/multipart.js';

const NAME = /^[a-z_]{1,40}$/;

/** A form of text fields only. */
export function fieldsForm(fields: readonly (readonly [string, string])[], boundary = `aiwatch-${randomBytes(9).toString('hex')}`): { contentType: string; body: Uint8Array } {
  let text = '';
  for (const [name, value] of fields) {
    if (!NAME.test(name)) throw new Error(`fleet form: field name ${JSON.stringify(name)} must match ${NAME.source}`);
    text += `--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  }
  text += `--${boundary}--\r\n`;
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: new Uint8Array(Buffer.from(text, 'utf8')) };
}

/** A form of text fields and one file, streamed (src/net/multipart.ts; a field name appears once). */
export function fileForm(file: MultipartFile, fields: readonly (readonly [string, string])[]): MultipartBody {
  const record: Record<string, string> = {};
  for (const [name, value] of fields) {
    if (name in record) throw new Error(`fleet form: field ${name} given twice (a streamed form takes each field once)`);
    record[name] = value;
  }
  return multipartFileBody(file, record);
}
