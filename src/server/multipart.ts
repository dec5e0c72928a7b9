/**
 * A multipart/form-data body as its parts, its boundary left out. Every client but ours
 * (a browser's own fetch(FormData), axios, a plain form, curl -F) picks a new random
 * boundary at each attempt, so the retry of one upload under one key was another payload
 * to a verifier comparing bytes (422, while the first upload may have run).
 *
 * Our own strict parser rather than undici's `Response.formData()`: that one decodes a
 * text field as UTF-8 (a latin1 `é` and `è` both become U+FFFD), decodes a base64
 * `Content-Transfer-Encoding` part (`QUFB` and `AAA` become one file) and drops every
 * other part header, so it would make two uploads one. Here a part is its header block
 * and its content, both as they came: the name, filename and content type are in the
 * headers, and so is anything else a handler may read (a transfer encoding, a charset),
 * and one client's retries repeat its own header bytes. Only a body framed exactly as
 * RFC 2046 says is read: a preamble, an epilogue, padding after a delimiter, the boundary
 * anywhere but in a delimiter, a boundary parameter that is not one plain value, or the
 * word boundary elsewhere in the Content-Type are things parsers read differently, and
 * such a body stays compared as it came.
 */

const FORM_DATA = /^multipart\/form-data[ \t]*(?:;|$)/i;
/**
 * One `; name=value` parameter, the value a token or a quoted string (RFC 9110) without
 * escapes: a parser that does not unescape would take another boundary than ours.
 */
const PARAMETER = /[ \t]*;[ \t]*([!#$%&'*+.^_`|~0-9A-Za-z-]+)=(?:([!#$%&'*+.^_`|~0-9A-Za-z-]+)|"([^"\\\r\n]*)")[ \t]*/y;
/** RFC 2046's boundary: 1 to 70 of its characters, the last not a space. */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
const BOUNDARY_ELSEWHERE = /boundary/i;
const CRLF = 0x0a0d;
const DASHES = 0x2d2d;
const BLANK_LINE = Buffer.from('\r\n\r\n');

/**
 * The boundary of a multipart/form-data content type, when it has one valid `boundary`
 * parameter; undefined for any other. Cheap for other content types: most fail at the
 * first character.
 */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (contentType === undefined || (contentType.charCodeAt(0) | 0x20) !== 0x6d || !FORM_DATA.test(contentType)) return undefined;
  let boundary: string | undefined;
  /** The `; boundary=...` parameter's place in the header. */
  let start = 0;
  let end = 0;
  PARAMETER.lastIndex = contentType.indexOf(';');
  if (PARAMETER.lastIndex < 0) return undefined;
  while (PARAMETER.lastIndex < contentType.length) {
    const match = PARAMETER.exec(contentType);
    if (match === null) return undefined;
    if (match[1]!.toLowerCase() !== 'boundary') continue;
    // Two boundaries: which one a handler's parser takes is its own choice.
    if (boundary !== undefined) return undefined;
    boundary = match[2] ?? match[3];
    start = match.index;
    end = PARAMETER.lastIndex;
  }
  if (boundary === undefined || !BOUNDARY.test(boundary)) return undefined;
  // `boundary` anywhere else (`xboundary=`, `boundary*=`, inside a quoted value) is where
  // many parsers take theirs from (formidable's /boundary=(...)/i takes the first; busboy
  // 0.x an RFC 2231 `boundary*`): framed by theirs, our delimiters can be inside a part.
  return BOUNDARY_ELSEWHERE.test(contentType.slice(0, start)) || BOUNDARY_ELSEWHERE.test(contentType.slice(end)) ? undefined : boundary;
}

/**
 * The parts of a body framed exactly by `boundary`, in order, as offsets into it: four a
 * part, its header block (without the blank line) then its content, start and end each;
 * undefined when it is not so framed. Offsets, not a Buffer a part: a `subarray` costs
 * about a microsecond on Node 20, and a body of 100k tiny parts took seconds and hundreds
 * of MiB. Linear: each search starts where the last one ended.
 */
export function multipartParts(body: Buffer, boundary: string): number[] | undefined {
  const dashes = Buffer.from(`--${boundary}`, 'latin1');
  // The first delimiter opens the body, with no CRLF before it.
  if (body.length < dashes.length || body.compare(dashes, 0, dashes.length, 0, dashes.length) !== 0) return undefined;
  const parts: number[] = [];
  let at = dashes.length;
  for (;;) {
    // `at` is just past a delimiter: the close (`--`, then at most a CRLF), or a CRLF.
    if (body.length >= at + 2 && body.readUInt16LE(at) === DASHES) {
      const rest = body.length - at - 2;
      return rest === 0 || (rest === 2 && body.readUInt16LE(at + 2) === CRLF) ? parts : undefined;
    }
    if (body.length < at + 2 || body.readUInt16LE(at) !== CRLF) return undefined;
    // The boundary anywhere but after a CRLF (after a bare LF, as lenient parsers take a
    // delimiter) is no body of ours: one parser's single part could be another's two.
    const next = body.indexOf(dashes, at);
    if (next < 0 || body.readUInt16LE(next - 2) !== CRLF) return undefined;
    const end = next - 2;
    // From the CRLF ending the delimiter line: a part without headers is that CRLF, then the blank line's.
    const blank = body.indexOf(BLANK_LINE, at);
    if (blank < 0 || blank + BLANK_LINE.length > end) return undefined;
    parts.push(blank === at ? at : at + 2, blank === at ? at : blank, blank + BLANK_LINE.length, end);
    at = next + dashes.length;
  }
}
