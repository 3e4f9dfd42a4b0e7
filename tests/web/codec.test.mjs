// The shared request/response encoding (web/src/codec.js) against hand-made bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeResponse, encodeRequest, toResult } from '../../web/src/codec.js';

test('encodeRequest frames records as ABI.md says', () => {
  const bytes = encodeRequest([
    { action: 'hello' },
    { action: 'access', person: '', machine: 'm', url: 'http://é/', name: 'n', when: 300, quiet: true },
    { action: 'stats', when: new Date(1000 * 1000) },
  ]);
  const url = [...new TextEncoder().encode('http://é/')];
  assert.deepEqual([...bytes], [
    0x68, 0, 0,
    0x61, 1, 0xac, 0x02, 0, 1, 0x6d, url.length, ...url, 1, 0x6e,
    0x74, 0, 0xe8, 0x07,
  ]);
});

test('long fields get a multi-byte length', () => {
  const url = `http://${'x'.repeat(200)}/`;
  const bytes = encodeRequest([{ action: 'search', person: 'p', machine: 'm', url, for: 'f' }]);
  assert.equal(bytes[0], 0x73);
  // op, flags, when, "p", "m", then the url's length as a 2-byte uvarint
  assert.deepEqual([...bytes.subarray(7, 9)], [url.length & 0x7f | 0x80, url.length >> 7]);
  assert.equal(bytes.length, 9 + url.length + 2);
});

test('encodeRequest refuses what cannot be framed', () => {
  assert.throws(() => encodeRequest([{ action: 'nope' }]), /unknown action/);
  assert.throws(() => encodeRequest([{ action: 'toString' }]), /unknown action/);
  assert.throws(() => encodeRequest([{ action: 'hello', when: -1 }]), /when/);
  assert.throws(() => encodeRequest([{ action: 'hello', when: 1.5 }]), /when/);
});

test('decodeResponse and toResult', () => {
  const body = new TextEncoder().encode('{"action":"access","status":"ok","urls":[]}');
  const person = new TextEncoder().encode('11111111-2222-3333-4444-555555555555');
  const bytes = new Uint8Array([0xc8, 0x01, person.length, ...person, body.length, ...body, 0x90, 0x03, 0, 0]);
  const recs = decodeResponse(bytes);
  assert.equal(recs.length, 2);
  assert.deepEqual(toResult(recs[0]), {
    action: 'access',
    status: 200,
    statusText: 'ok',
    urls: [],
    person: '11111111-2222-3333-4444-555555555555',
  });
  assert.deepEqual(toResult(recs[1]), { status: 400, person: '' });
  assert.throws(() => decodeResponse(new Uint8Array([0xc8, 0x01, 5, 1])), /truncated/);
});
