#!/usr/bin/env python3
"""Writes spec/vectors/**.json. The vectors are the data of record; this script is how the
initial set was produced and is kept so that bulk edits stay consistent. Re-running it
overwrites the files it generates (and deletes nothing else). See spec/README.md for the format."""
import hashlib, hmac, json, os, shutil, struct, datetime as dt

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'vectors')
COUNT = 0
FREE = '<free text>'
U64 = 2**64 - 1

def rid(slug):
    return hashlib.sha256(slug.encode()).hexdigest()[:32]

def j(obj):
    return json.dumps(obj, separators=(',', ':'), ensure_ascii=False)

def req(method, params, id_, **extra):
    o = {'jsonrpc': '2.0', 'id': id_, 'method': method}
    if params is not None:
        o['params'] = params
    o.update(extra)
    return j(o)

def write(rel, body):
    global COUNT
    path = os.path.join(ROOT, rel + '.json')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(body, f, indent=2, ensure_ascii=False)
        f.write('\n')
    COUNT += 1

def err(code, message, data=None):
    e = {'code': code, 'message': message}
    if data is not None:
        e['data'] = data
    return e

PARSE = err(-32700, 'Parse error')
def invalid_request():
    return err(-32600, 'Invalid Request', {'message': FREE})
def not_found():
    return err(-32601, 'Method not found')
def unrecognized(*names):
    return err(-32602, 'Invalid params', {'unrecognized': list(names)})
def invalid_param(prop):
    return err(-32602, 'Invalid params', {'property': prop, 'message': FREE, 'unrecognized': []})

def request_vector(rel, description, reqs, payload=None, payload_hex=None, ok=None, error=None, id_=None,
                   method=None, context=None, schema_valid=True):
    v = {'description': description, 'requirements': reqs, 'direction': 'request'}
    if method:
        v['method'] = method
    if payload_hex is not None:
        v['payload_hex'] = payload_hex
    else:
        v['payload'] = payload
    if context is not None:
        v['context'] = context
    if ok is not None:
        v['expect'] = {'ok': ok}
        if not schema_valid:
            v['schema_valid'] = False
    else:
        v['expect'] = {'error': error, 'id': id_}
    write(rel, v)

# ------------------------------------------------------------------------------------------
# LSPS0 envelope: bad message format (-32700, id null)
E = 'lsps0/envelope/'
LP = 'lsps0.list_protocols'
good = req(LP, {}, rid('good'))
def parse_err(slug, desc, reqs, payload=None, payload_hex=None):
    request_vector(E + slug, desc, ['LSPS0-R2', 'LSPS0-R10'] + reqs, payload=payload, payload_hex=payload_hex,
                   error=PARSE, id_=None)

parse_err('invalid-utf8-byte-ff', 'A 0xFF byte inside a string: not UTF-8.', ['LSPS0-R3'],
          payload_hex=(b'{"jsonrpc":"2.0","id":"' + rid('u1').encode() + b'","method":"lsps0.list_protocols","params":{"x":"\xff"}}').hex())
parse_err('invalid-utf8-overlong', 'Overlong UTF-8 encoding of "/" (0xC0 0xAF) in a string.', ['LSPS0-R3'],
          payload_hex=(b'{"jsonrpc":"2.0","id":"a\xc0\xafb","method":"lsps0.list_protocols","params":{}}').hex())
parse_err('invalid-utf8-surrogate', 'A UTF-8 encoded UTF-16 surrogate (0xED 0xA0 0x80) is not valid UTF-8.', ['LSPS0-R3'],
          payload_hex=(b'{"jsonrpc":"2.0","id":"\xed\xa0\x80","method":"lsps0.list_protocols","params":{}}').hex())
parse_err('invalid-utf8-truncated-sequence', 'A multi-byte sequence cut short at the end of the payload.', ['LSPS0-R3'],
          payload_hex=(good.encode() + b'\xe2\x82').hex())
parse_err('utf8-bom-prefix', 'A UTF-8 byte order mark before the object is not JSON whitespace.', ['LSPS0-R3'],
          payload_hex=(b'\xef\xbb\xbf' + good.encode()).hex())
parse_err('nul-appended', 'A valid request followed by one 0x00 byte (C-style terminator).', ['LSPS0-R5'],
          payload_hex=(good.encode() + b'\x00').hex())
parse_err('nul-prepended', 'A 0x00 byte before a valid request.', ['LSPS0-R5'],
          payload_hex=(b'\x00' + good.encode()).hex())
parse_err('nul-inside-string', 'A raw 0x00 byte inside a string value.', ['LSPS0-R5'],
          payload_hex=(b'{"jsonrpc":"2.0","id":"' + rid('n3').encode() + b'","method":"lsps2.get_info","params":{"token":"a\x00b"}}').hex())
parse_err('empty', 'An empty payload.', ['LSPS0-R3'], payload='')
parse_err('whitespace-only', 'Only whitespace.', ['LSPS0-R3'], payload=' \t\r\n ')
parse_err('array-empty', 'The bLIP-50 example " [ ] ": an array, not an object.', ['LSPS0-R3'], payload=' [ ] ')
parse_err('batch-array', 'A JSON-RPC batch (array holding one valid request).', ['LSPS0-R3', 'LSPS0-R16'], payload='[' + good + ']')
parse_err('scalar-number', 'A bare number.', ['LSPS0-R3'], payload='42')
parse_err('scalar-string', 'A bare string.', ['LSPS0-R3'], payload='"lsps0.list_protocols"')
parse_err('scalar-true', 'A bare boolean.', ['LSPS0-R3'], payload='true')
parse_err('scalar-null', 'A bare null.', ['LSPS0-R3'], payload='null')
parse_err('truncated-open-brace', 'The bLIP-50 example "{": truncated.', ['LSPS0-R3'], payload='{')
parse_err('truncated-request', 'A valid request cut before its closing brace.', ['LSPS0-R3', 'LSPS0-R13'], payload=good[:-1])
parse_err('truncated-in-string', 'A request cut inside a string.', ['LSPS0-R3'], payload=good[:20])
parse_err('two-empty-objects', 'The bLIP-50 example " { } { }": two objects.', ['LSPS0-R4'], payload=' { } { }')
parse_err('object-then-open-brace', 'The bLIP-50 example " { } { ": an object then garbage.', ['LSPS0-R4'], payload=' { } { ')
parse_err('request-then-empty-object', 'A valid request followed by {}: no result may be sent for the first object.', ['LSPS0-R4'], payload=good + '{}')
parse_err('request-twice', 'The same valid request twice in one payload.', ['LSPS0-R4'], payload=good + '\n' + good)
parse_err('trailing-garbage', 'A valid request followed by non-JSON text.', ['LSPS0-R4'], payload=good + 'x')
parse_err('trailing-comma-after-object', 'A valid request followed by a comma.', ['LSPS0-R4'], payload=good + ',')
parse_err('trailing-number', 'A valid request followed by a number.', ['LSPS0-R4'], payload=good + ' 1')
parse_err('form-feed-before-object', 'Form feed (0x0C) is not JSON whitespace.', ['LSPS0-R3'], payload='\f' + good)
parse_err('vertical-tab-after-object', 'Vertical tab (0x0B) after the object is not JSON whitespace.', ['LSPS0-R3'], payload=good + '\u000b')
parse_err('nbsp-before-object', 'U+00A0 no-break space is not JSON whitespace.', ['LSPS0-R3'], payload='\u00a0' + good)
parse_err('comment', 'A JavaScript comment is not JSON.', ['LSPS0-R3'], payload='/* hi */' + good)
parse_err('single-quotes', 'Single-quoted strings are not JSON.', ['LSPS0-R3'], payload=good.replace('"', "'"))
parse_err('trailing-comma-in-object', 'A trailing comma inside the params object.', ['LSPS0-R3'],
          payload='{"jsonrpc":"2.0","id":"%s","method":"lsps0.list_protocols","params":{},}' % rid('tc'))
parse_err('nan-value', 'NaN is not a JSON value.', ['LSPS0-R3'],
          payload='{"jsonrpc":"2.0","id":"%s","method":"lsps2.get_info","params":{"token":NaN}}' % rid('nan'))
parse_err('unescaped-control-char', 'A raw line feed inside a string must be escaped in JSON.', ['LSPS0-R3'],
          payload='{"jsonrpc":"2.0","id":"%s","method":"lsps2.get_info","params":{"token":"a\nb"}}' % rid('cc'))
parse_err('invalid-escape', 'The escape \\x41 does not exist in JSON.', ['LSPS0-R3'],
          payload='{"jsonrpc":"2.0","id":"%s","method":"lsps2.get_info","params":{"token":"\\x41"}}' % rid('esc'))
parse_err('duplicate-key-top-level', 'Two "method" members: RFC 8259 leaves the meaning open, so this project rejects duplicate keys as not one well-defined JSON object (decision D15).', ['LSPS0-R3'],
          payload='{"jsonrpc":"2.0","id":"%s","method":"lsps0.list_protocols","method":"lsps2.get_info","params":{}}' % rid('dup'))
parse_err('duplicate-key-nested', 'A duplicate key inside opening_fee_params (two readers could see different fees).', ['LSPS0-R3'],
          payload='{"jsonrpc":"2.0","id":"%s","method":"lsps2.get_info","params":{"token":"a","token":"b"}}' % rid('dup2'))
deep = '[' * 200 + ']' * 200
parse_err('nesting-too-deep', 'Nesting deeper than 128 levels is refused by the parser (decision D16).', ['LSPS0-R3'],
          payload='{"jsonrpc":"2.0","id":"%s","method":"lsps2.get_info","params":{"token":%s}}' % (rid('deep'), deep))

# whitespace that is fine
for slug, pre, post, desc in [
    ('whitespace-around-ok', ' \t\r\n', ' \t\r\n', 'Space, tab, CR and LF around the object are allowed.'),
    ('whitespace-inside-ok', '', '', 'Whitespace between tokens inside the object.'),
    ('leading-newlines-ok', '\n\n', '', 'Leading line feeds only.'),
]:
    payload = pre + (good if slug != 'whitespace-inside-ok' else
                     '{ "jsonrpc" : "2.0" ,\n\t"id" : "%s" ,\r\n "method" : "lsps0.list_protocols" , "params" : { } }' % rid('wsi')) + post
    request_vector(E + slug, desc, ['LSPS0-R3'], payload=payload, ok=LP)
request_vector(E + 'key-order-free-ok', 'Members may come in any order (the bLIP-50 list_protocols example puts method first).', ['LSPS0-R3'],
               payload='{"method":"lsps0.list_protocols","jsonrpc":"2.0","id":"example#3cad6a54d302edba4c9ade2f7ffac098","params":{}}', ok=LP)
request_vector(E + 'params-omitted-ok', 'params may be omitted (JSON-RPC); it means {} (decision D4).', ['LSPS0-R40'],
               payload=req(LP, None, rid('noparams')), ok=LP)
request_vector(E + 'escaped-printable-in-method-ok', 'A reader accepts \\u escapes of printable characters (the no-escape rule binds writers).', ['LSPS0-R48'],
               payload='{"jsonrpc":"2.0","id":"%s","method":"lsps0.\\u006cist_protocols","params":{}}' % rid('escm'), ok=LP)
request_vector(E + 'escaped-nul-in-string-ok', 'The six characters \\u0000 inside a string are not a 0x00 byte; the payload passes the NUL check.', ['LSPS0-R5'],
               payload='{"jsonrpc":"2.0","id":"%s","method":"lsps2.get_info","params":{"token":"a\\u0000b"}}' % rid('escnul'), ok='lsps2.get_info')
request_vector(E + 'non-ascii-id-ok', 'Ids are arbitrary strings; non-ASCII UTF-8 is fine.', ['LSPS0-R3'],
               payload=req(LP, {}, 'ünïcødé-' + rid('nonascii')), ok=LP)
request_vector(E + 'long-id-ok', 'LSPS0 sets no maximum id length; a 1000-character id is echoed.', ['LSPS0-R34'],
               payload=req(LP, {}, 'a' * 1000), ok=LP)

# not a request: -32600 (decision D1)
def inv(slug, desc, payload, id_, extra=()):
    request_vector(E + slug, desc, ['LSPS0-R6', 'LSPS0-R18'] + list(extra), payload=payload, error=invalid_request(), id_=id_)
inv('empty-object', 'The bLIP-50 example " { } ": one object, but not a request.', ' { } ', None)
i = rid('nojsonrpc')
inv('jsonrpc-missing', 'No "jsonrpc" member.', j({'id': i, 'method': LP, 'params': {}}), i)
i = rid('jsonrpc10')
inv('jsonrpc-1-0', '"jsonrpc": "1.0".', j({'jsonrpc': '1.0', 'id': i, 'method': LP, 'params': {}}), i)
i = rid('jsonrpcnum')
inv('jsonrpc-number', '"jsonrpc": 2.0 as a number.', '{"jsonrpc":2.0,"id":"%s","method":"lsps0.list_protocols","params":{}}' % i, i)
i = rid('nomethod')
inv('method-missing', 'No "method" member.', j({'jsonrpc': '2.0', 'id': i, 'params': {}}), i)
i = rid('methodnum')
inv('method-not-string', '"method" is a number.', j({'jsonrpc': '2.0', 'id': i, 'method': 0, 'params': {}}), i)
inv('notification', 'A notification (no id): clients MUST NOT send them; this project answers -32600 with id null (decision D3).',
    j({'jsonrpc': '2.0', 'method': LP, 'params': {}}), None, ['LSPS0-R14'])
inv('id-number', 'A numeric id: LSPS0 requires strings; it cannot be echoed, so the reply has id null (decision D3).',
    j({'jsonrpc': '2.0', 'id': 1, 'method': LP, 'params': {}}), None)
inv('id-null', 'id null.', j({'jsonrpc': '2.0', 'id': None, 'method': LP, 'params': {}}), None)
inv('id-object', 'id is an object.', j({'jsonrpc': '2.0', 'id': {'a': 1}, 'method': LP, 'params': {}}), None)
i = rid('byposition')
inv('params-by-position', 'By-position params (an array) are forbidden by LSPS0; answered -32600 (decision D4).',
    j({'jsonrpc': '2.0', 'id': i, 'method': 'lsps2.get_info', 'params': ['SECRETDISCOUNTCOUPON100']}), i, ['LSPS0-R15'])
i = rid('byposempty')
inv('params-empty-array', 'An empty by-position params array.', j({'jsonrpc': '2.0', 'id': i, 'method': LP, 'params': []}), i)
i = rid('paramsstr')
inv('params-string', 'params is a string.', j({'jsonrpc': '2.0', 'id': i, 'method': LP, 'params': 'x'}), i)
i = rid('paramsnull')
inv('params-null', 'params is null.', j({'jsonrpc': '2.0', 'id': i, 'method': LP, 'params': None}), i)
i = rid('respshaped')
inv('response-shaped', 'A response object sent to the LSP.', j({'jsonrpc': '2.0', 'id': i, 'result': {}}), i)
i = rid('errshaped')
inv('error-response-shaped', 'An error response object sent to the LSP.', j({'jsonrpc': '2.0', 'id': i, 'error': {'code': -32601, 'message': 'x'}}), i)
i = rid('extramember')
inv('extra-member', 'A request with a member JSON-RPC does not define.', j({'jsonrpc': '2.0', 'id': i, 'method': LP, 'params': {}, 'extra': 1}), i)

# unknown methods: -32601 with the id echoed
for slug, m, desc in [
    ('lsps0-zz-nope', 'lsps0.zz_nope', 'An LSPS0-prefixed method that does not exist.'),
    ('lsps999-do-this', 'lsps999.do_this', 'The bLIP-50 hypothetical method.'),
    ('no-prefix', 'foo', 'A method without an lsps prefix.'),
    ('empty-name', '', 'An empty method name.'),
    ('wrong-case', 'LSPS0.list_protocols', 'Method names are case-sensitive.'),
    ('trailing-space', 'lsps0.list_protocols ', 'A known name with a trailing space.'),
    ('legacy-lsps2-get-versions', 'lsps2.get_versions', 'The pre-2023-12 LSPS2 draft method, removed from bLIP-52.'),
    ('lsps5-set-webhook', 'lsps5.set_webhook', 'A method of a protocol this project does not serve.'),
    ('example-method-name', 'example.method_name', 'The bLIP-50 -32602 section example method (E0.1) is not a real method.'),
]:
    i = rid('m-' + slug)
    request_vector('lsps0/unknown-method/' + slug, desc, ['LSPS0-R45', 'LSPS0-R64'], payload=req(m, {}, i), error=not_found(), id_=i)
i = rid('m-unknown-with-bad-params')
request_vector('lsps0/unknown-method/unknown-method-wins-over-params', 'An unknown method with unknown params: -32601 (params are only judged for known methods).',
               ['LSPS0-R45'], payload=req('lsps0.zz_nope', {'zz': 1}, i), error=not_found(), id_=i)

# list_protocols
i = rid('lp-ok')
request_vector('lsps0/list_protocols/ok-empty-params', 'The canonical request.', ['LSPS0-R40'], payload=req(LP, {}, i), ok=LP, method=LP)
request_vector('lsps0/list_protocols/ok-blip-example', 'The bLIP-50 example request (E0.4), verbatim.', ['LSPS0-R40'],
               payload='{\n  "method": "lsps0.list_protocols",\n  "jsonrpc": "2.0",\n  "id": "example#3cad6a54d302edba4c9ade2f7ffac098",\n  "params": {}\n}', ok=LP, method=LP)
i = rid('lp-unk')
request_vector('lsps0/list_protocols/unknown-param', 'A param list_protocols does not define.', ['LSPS0-R44', 'LSPS0-R31'],
               payload=req(LP, {'zz_unknown': 1}, i), error=unrecognized('zz_unknown'), id_=i, method=LP)
i = rid('lp-unk2')
request_vector('lsps0/list_protocols/two-unknown-params', 'Two unknown params (the bLIP-50 future_feature example): both are listed, in any order.', ['LSPS0-R44', 'LSPS0-R31'],
               payload=req(LP, {'future_feature1_param': 'value1', 'future_feature2_param': 'value2'}, i),
               error=unrecognized('future_feature1_param', 'future_feature2_param'), id_=i, method=LP)
i = rid('lp-unk-null')
request_vector('lsps0/list_protocols/unknown-param-null-value', 'An unknown param is unknown whatever its value, null included.', ['LSPS0-R44'],
               payload=req(LP, {'zz': None}, i), error=unrecognized('zz'), id_=i, method=LP)

# ------------------------------------------------------------------------------------------
# LSPS1
GI1 = 'lsps1.get_info'; CO = 'lsps1.create_order'; GO = 'lsps1.get_order'
i = rid('gi1-ok')
request_vector('lsps1/get_info/ok', 'get_info with empty params.', ['LSPS1-R3'], payload=req(GI1, {}, i), ok=GI1, method=GI1)
i = rid('gi1-unk')
request_vector('lsps1/get_info/unknown-param', 'get_info takes no params.', ['LSPS0-R44', 'LSPS1-R3'], payload=req(GI1, {'zz': 1}, i),
               error=unrecognized('zz'), id_=i, method=GI1)
i = rid('gi1-legacy')
request_vector('lsps1/get_info/legacy-api-version-param', 'The 2023 draft api_version param is not part of bLIP-51.', ['LSPS0-R44'],
               payload=req(GI1, {'api_version': 1}, i), error=unrecognized('api_version'), id_=i, method=GI1)

ORDER = {'lsp_balance_sat': '5000000', 'client_balance_sat': '2000000', 'required_channel_confirmations': 0,
         'funding_confirms_within_blocks': 6, 'channel_expiry_blocks': 144, 'token': '',
         'refund_onchain_address': 'bc1qvmsy0f3yyes6z9jvddk8xqwznndmdwapvrc0xrmhd3vqj5rhdrrq6hz49h', 'announce_channel': True}
MIN_ORDER = {k: v for k, v in ORDER.items() if k not in ('token', 'refund_onchain_address')}
def co(slug, desc, reqs, params, ok=True, error=None, schema_valid=True, context=None):
    i = rid('co-' + slug)
    if ok and error is None:
        request_vector('lsps1/create_order/' + slug, desc, reqs, payload=req(CO, params, i), ok=CO, method=CO, schema_valid=schema_valid, context=context)
    else:
        request_vector('lsps1/create_order/' + slug, desc, reqs, payload=req(CO, params, i), error=error, id_=i, method=CO, context=context)
co('ok-blip-example', 'The bLIP-51 create_order params (E1.2).', ['LSPS1-R7'], ORDER)
co('ok-refund-p2tr', 'A P2TR (bech32m, v1) refund address.', ['LSPS0-R56'],
   dict(ORDER, refund_onchain_address='bc1p5uvtaxzkjwvey2tfy49k5vtqfpjmrgm09cvs88ezyy8h2zv7jhas9tu4yr'))
co('ok-refund-p2wpkh', 'A P2WPKH (bech32, v0, 20 bytes) refund address (BIP173 example).', ['LSPS0-R56'],
   dict(ORDER, refund_onchain_address='bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4'))
co('refund-address-v0-with-bech32m', 'A v0 program encoded with the bech32m checksum (BIP350 invalid example).', ['LSPS0-R56', 'LSPS1-R25'],
   dict(ORDER, refund_onchain_address='bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh'), ok=False, error=invalid_param('refund_onchain_address'))
co('ok-minimal', 'No token and no refund address (both optional).', ['LSPS1-R13'], MIN_ORDER)
co('ok-u64-max-amounts', 'Amounts at u64::MAX still decode (the LSP then rejects them against its options).', ['LSPS0-R50'],
   dict(MIN_ORDER, lsp_balance_sat=str(U64), client_balance_sat=str(U64)))
co('ok-leading-zeros-lenient', 'Leading zeros in an amount: readers accept them; the schema (canonical form) does not.', ['LSPS0-R49'],
   dict(MIN_ORDER, lsp_balance_sat='005000000'), schema_valid=False)
co('unknown-param', 'An extra param.', ['LSPS0-R44'], dict(ORDER, zz=1), ok=False, error=unrecognized('zz'))
co('legacy-params', 'The 2023 draft params (api_version, confirms_within_blocks, announceChannel) are unknown; the missing required ones do not matter once unknown names are found.',
   ['LSPS0-R44'], {'api_version': 1, 'lsp_balance_sat': '5000000', 'client_balance_sat': '2000000', 'confirms_within_blocks': 1,
                   'channel_expiry_blocks': 144, 'token': '', 'announceChannel': True},
   ok=False, error=unrecognized('api_version', 'confirms_within_blocks', 'announceChannel'))
for slug, field, value, desc in [
    ('lsp-balance-number', 'lsp_balance_sat', 5000000, 'An amount as a JSON number instead of a decimal string.'),
    ('lsp-balance-not-decimal', 'lsp_balance_sat', 'abc', 'An amount string that is not decimal.'),
    ('lsp-balance-negative', 'lsp_balance_sat', '-1', 'A negative amount string.'),
    ('lsp-balance-over-u64', 'lsp_balance_sat', '18446744073709551616', 'u64::MAX + 1.'),
    ('lsp-balance-empty', 'lsp_balance_sat', '', 'An empty amount string.'),
    ('lsp-balance-plus-sign', 'lsp_balance_sat', '+5000000', 'A leading plus sign is not decimal digits.'),
    ('lsp-balance-decimal-point', 'lsp_balance_sat', '5000000.0', 'A decimal point in a sat amount.'),
    ('client-balance-null', 'client_balance_sat', None, 'A required amount given as null.'),
    ('announce-channel-string', 'announce_channel', 'yes', 'The bLIP-51 example of an invalid field: "Not a boolean".'),
    ('required-confirmations-negative', 'required_channel_confirmations', -1, 'uint16 below 0.'),
    ('required-confirmations-over-u16', 'required_channel_confirmations', 70000, 'uint16 above 65535 (a type error, not an option mismatch: decision D9).'),
    ('required-confirmations-fraction', 'required_channel_confirmations', 1.5, 'A fraction where an integer is required.'),
    ('required-confirmations-string', 'required_channel_confirmations', '6', 'An integer field given as a string.'),
    ('funding-confirms-over-u16', 'funding_confirms_within_blocks', 65536, 'uint16 above 65535.'),
    ('channel-expiry-over-u32', 'channel_expiry_blocks', 4294967296, 'uint32 above 4294967295.'),
    ('refund-address-garbage', 'refund_onchain_address', 'notanaddress', 'Not an address.'),
    ('refund-address-p2pkh', 'refund_onchain_address', '1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2', 'A legacy P2PKH address: LSPS0 allows SegWit only (LSPS0-R56).'),
    ('refund-address-bad-checksum', 'refund_onchain_address', 'bc1qvmsy0f3yyes6z9jvddk8xqwznndmdwapvrc0xrmhd3vqj5rhdrrq6hz49j', 'A bech32 address with a broken checksum.'),
    ('token-number', 'token', 5, 'token must be a string.'),
]:
    co(slug, desc, ['LSPS1-R25', 'LSPS0-R31'], dict(ORDER, **{field: value}), ok=False, error=invalid_param(field))
co('missing-announce-channel', 'announce_channel is required (the bLIP does not mark it optional).', ['LSPS1-R25'],
   {k: v for k, v in ORDER.items() if k != 'announce_channel'}, ok=False, error=invalid_param('announce_channel'))
co('missing-lsp-balance', 'lsp_balance_sat is required.', ['LSPS1-R25'],
   {k: v for k, v in ORDER.items() if k != 'lsp_balance_sat'}, ok=False, error=invalid_param('lsp_balance_sat'))

# LSPS1 business rules: outcome depends on the LSP's get_info values and token list.
LSPS1_CTX = {
    'lsps1_get_info': {'min_required_channel_confirmations': 1, 'min_funding_confirms_within_blocks': 6,
                       'supports_zero_channel_reserve': True, 'max_channel_expiry_blocks': 20160,
                       'min_initial_client_balance_sat': '20000', 'max_initial_client_balance_sat': '100000000',
                       'min_initial_lsp_balance_sat': '10000', 'max_initial_lsp_balance_sat': '100000000',
                       'min_channel_balance_sat': '50000', 'max_channel_balance_sat': '150000000'},
    'known_tokens': ['valid-coupon'],
    'known_order_ids': ['bb4b5d0a-8334-49d8-9463-90a6d413af7c'],
}
BASE = {'lsp_balance_sat': '5000000', 'client_balance_sat': '2000000', 'required_channel_confirmations': 1,
        'funding_confirms_within_blocks': 6, 'channel_expiry_blocks': 144, 'announce_channel': False}
def mismatch(prop):
    return err(100, 'Option mismatch', {'property': prop, 'message': FREE})
co('ctx-ok-within-options', 'Every value inside the advertised options.', ['LSPS1-R7', 'LSPS1-R8', 'LSPS1-R24'], BASE, context=LSPS1_CTX)
co('ctx-ok-all-at-minimum', 'client balance, confirmations and funding target at their advertised minimum, channel size exactly min_channel_balance_sat (bounds are inclusive).',
   ['LSPS1-R7', 'LSPS1-R8', 'LSPS1-R9', 'LSPS1-R10'],
   dict(BASE, lsp_balance_sat='30000', client_balance_sat='20000', required_channel_confirmations=1, funding_confirms_within_blocks=6), context=LSPS1_CTX)
co('ctx-ok-at-maximum', 'lsp balance and expiry at their maxima, channel size at its maximum.', ['LSPS1-R7', 'LSPS1-R11', 'LSPS1-R12'],
   dict(BASE, lsp_balance_sat='100000000', client_balance_sat='50000000', channel_expiry_blocks=20160), context=LSPS1_CTX)
co('ctx-ok-known-token', 'A token the LSP knows.', ['LSPS1-R26'], dict(BASE, token='valid-coupon'), context=LSPS1_CTX)
co('ctx-ok-empty-token', 'An empty token means none (the order mirrors "").', ['LSPS1-R19'], dict(BASE, token=''), context=LSPS1_CTX)
for slug, change, prop, reqs in [
    ('lsp-balance-below-min', {'lsp_balance_sat': '9999', 'client_balance_sat': '50000'}, 'min_initial_lsp_balance_sat', ['LSPS1-R7']),
    ('lsp-balance-above-max', {'lsp_balance_sat': '100000001'}, 'max_initial_lsp_balance_sat', ['LSPS1-R7']),
    ('client-balance-below-min', {'client_balance_sat': '19999'}, 'min_initial_client_balance_sat', ['LSPS1-R8']),
    ('client-balance-above-max', {'client_balance_sat': '100000001', 'lsp_balance_sat': '10000'}, 'max_initial_client_balance_sat', ['LSPS1-R8']),
    ('required-confirmations-below-min', {'required_channel_confirmations': 0}, 'min_required_channel_confirmations', ['LSPS1-R9']),
    ('funding-confirms-below-min', {'funding_confirms_within_blocks': 5}, 'min_funding_confirms_within_blocks', ['LSPS1-R10']),
    ('channel-expiry-above-max', {'channel_expiry_blocks': 20161}, 'max_channel_expiry_blocks', ['LSPS1-R11']),
    ('channel-size-below-min', {'lsp_balance_sat': '10000', 'client_balance_sat': '20000'}, 'min_channel_balance_sat', ['LSPS1-R12']),
    ('channel-size-above-max', {'lsp_balance_sat': '100000000', 'client_balance_sat': '50000001'}, 'max_channel_balance_sat', ['LSPS1-R12']),
]:
    co('ctx-' + slug, 'One value outside the advertised options: 100 naming the get_info field.', reqs + ['LSPS1-R24'],
       dict(BASE, **change), ok=False, error=mismatch(prop), context=LSPS1_CTX)
co('ctx-lsp-balance-zero', 'lsp_balance_sat 0 with min_initial_lsp_balance_sat above 0: 100 (bLIP-51 also says >= 1; decision D9 names min_initial_lsp_balance_sat).',
   ['LSPS1-R7', 'LSPS1-R24'], dict(BASE, lsp_balance_sat='0', client_balance_sat='50000'), ok=False, error=mismatch('min_initial_lsp_balance_sat'), context=LSPS1_CTX)
co('ctx-channel-expiry-zero', 'channel_expiry_blocks 0 (must be >= 1): 100 on max_channel_expiry_blocks (decision D9).',
   ['LSPS1-R11', 'LSPS1-R24'], dict(BASE, channel_expiry_blocks=0), ok=False, error=mismatch('max_channel_expiry_blocks'), context=LSPS1_CTX)
co('ctx-unknown-token', 'A token the LSP does not know: 102 with data {}.', ['LSPS1-R26'], dict(BASE, token='zz-invalid-token'),
   ok=False, error=err(102, 'Unrecognized or stale token', {}), context=LSPS1_CTX)
co('ctx-client-rejected', 'The LSP refuses this client (policy in the context): code 1 with data {message}.', ['LSPS1-R27', 'LSPS0-R63'], BASE,
   ok=False, error=err(1, 'Client rejected', {'message': FREE}), context=dict(LSPS1_CTX, reject_client=True))

i = rid('go-ok')
request_vector('lsps1/get_order/ok-blip-example', 'The bLIP-51 get_order params (E1.4).', ['LSPS1-R29'],
               payload=req(GO, {'order_id': 'bb4b5d0a-8334-49d8-9463-90a6d413af7c'}, i), ok=GO, method=GO, context=LSPS1_CTX)
i = rid('go-unknown')
request_vector('lsps1/get_order/unknown-order', 'An order id the LSP never issued: 101 with data {}.', ['LSPS1-R30'],
               payload=req(GO, {'order_id': '00000000-0000-4000-8000-000000000000'}, i), error=err(101, 'Not found', {}), id_=i, method=GO, context=LSPS1_CTX)
i = rid('go-missing')
request_vector('lsps1/get_order/missing-order-id', 'order_id is required.', ['LSPS1-R25'], payload=req(GO, {}, i), error=invalid_param('order_id'), id_=i, method=GO)
i = rid('go-num')
request_vector('lsps1/get_order/order-id-number', 'order_id must be a string.', ['LSPS1-R25'], payload=req(GO, {'order_id': 42}, i),
               error=invalid_param('order_id'), id_=i, method=GO)
i = rid('go-unk')
request_vector('lsps1/get_order/unknown-param', 'An extra param.', ['LSPS0-R44'], payload=req(GO, {'order_id': 'x', 'zz': True}, i),
               error=unrecognized('zz'), id_=i, method=GO)

# ------------------------------------------------------------------------------------------
# LSPS2
GI2 = 'lsps2.get_info'; BUY = 'lsps2.buy'
LSPS2_TOKENS = {'known_tokens': ['SECRETDISCOUNTCOUPON100']}
i = rid('gi2-ok')
request_vector('lsps2/get_info/ok-no-token', 'get_info without a token.', ['LSPS2-R2'], payload=req(GI2, {}, i), ok=GI2, method=GI2, context=LSPS2_TOKENS)
i = rid('gi2-tok')
request_vector('lsps2/get_info/ok-blip-example-token', 'The bLIP-52 example token (E2.1), known to the LSP.', ['LSPS2-R2'],
               payload=req(GI2, {'token': 'SECRETDISCOUNTCOUPON100'}, i), ok=GI2, method=GI2, context=LSPS2_TOKENS)
i = rid('gi2-tok-null')
request_vector('lsps2/get_info/ok-token-null-lenient', 'token: null (what LDK 0.2.7 sends) is read as no token; the schema (writer form) wants it omitted.',
               ['LSPS2-R2'], payload=req(GI2, {'token': None}, i), ok=GI2, method=GI2, schema_valid=False, context=LSPS2_TOKENS)
i = rid('gi2-unknown-token')
request_vector('lsps2/get_info/unknown-token', 'A token the LSP does not recognise: 200, no data.', ['LSPS2-R3'],
               payload=req(GI2, {'token': 'zz-invalid-token'}, i), error=err(200, 'Unrecognized or stale token'), id_=i, method=GI2, context=LSPS2_TOKENS)
i = rid('gi2-unk')
request_vector('lsps2/get_info/unknown-param', 'The catalogue probe {"token":"x","zz":1}: only zz is unrecognised.', ['LSPS0-R44'],
               payload=req(GI2, {'token': 'x', 'zz': 1}, i), error=unrecognized('zz'), id_=i, method=GI2)
i = rid('gi2-legacy')
request_vector('lsps2/get_info/legacy-version-param', 'The pre-2023-12 draft "version" param (H2.2) is unknown.', ['LSPS0-R44'],
               payload=req(GI2, {'version': 1, 'token': 'SECRETDISCOUNTCOUPON100'}, i), error=unrecognized('version'), id_=i, method=GI2)
i = rid('gi2-tok-num')
request_vector('lsps2/get_info/token-number', 'token must be a string.', ['LSPS0-R44', 'LSPS0-R31'],
               payload=req(GI2, {'token': 42}, i), error=invalid_param('token'), id_=i, method=GI2)

# Promise construction of this project (lsps-core/src/lsps2/promise.rs), with a fixed test secret.
SECRET = bytes([0x11]) * 32
CLIENT = '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798'   # secp256k1 G
OTHER = '02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5'    # 2G
NOW = '2030-01-01T00:00:00.000Z'
def millis(s):
    d = dt.datetime.strptime(s, '%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=dt.timezone.utc)
    return (d - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(milliseconds=1)
def promise(p, client=CLIENT):
    m = b'lsps2-promise-v1' + bytes.fromhex(client)
    m += struct.pack('>Q', int(p['min_fee_msat'])) + struct.pack('>I', p['proportional'])
    m += struct.pack('>Q', millis(p['valid_until'])) + struct.pack('>I', p['min_lifetime'])
    m += struct.pack('>I', p['max_client_to_self_delay'])
    m += struct.pack('>Q', int(p['min_payment_size_msat'])) + struct.pack('>Q', int(p['max_payment_size_msat']))
    return hmac.new(SECRET, m, hashlib.sha256).hexdigest()
def ofp(min_fee, prop, valid_until, min_size, max_size, min_lifetime=1008, max_delay=2016, client=CLIENT):
    p = {'min_fee_msat': str(min_fee), 'proportional': prop, 'valid_until': valid_until, 'min_lifetime': min_lifetime,
         'max_client_to_self_delay': max_delay, 'min_payment_size_msat': str(min_size), 'max_payment_size_msat': str(max_size)}
    p['promise'] = promise(p, client)
    return p
LSPS2_CTX = {'client_node_id': CLIENT, 'promise_secret': SECRET.hex(), 'now': NOW}
FUTURE = '2030-01-01T00:10:00.000Z'
A = ofp(546000, 1200, FUTURE, 1000000, 4000000000)
SMALL = ofp(546000, 1200, FUTURE, 1000, 1000000000)
HUGE = ofp(0, 1000000, FUTURE, 1, U64)
def buy(slug, desc, reqs, params, error=None, context=LSPS2_CTX, schema_valid=True):
    i = rid('buy-' + slug)
    if error is None:
        request_vector('lsps2/buy/' + slug, desc, reqs, payload=req(BUY, params, i), ok=BUY, method=BUY, context=context, schema_valid=schema_valid)
    else:
        request_vector('lsps2/buy/' + slug, desc, reqs, payload=req(BUY, params, i), error=error, id_=i, method=BUY, context=context)
E201 = err(201, 'Invalid opening fee params'); E202 = err(202, 'Payment size too small'); E203 = err(203, 'Payment size too large')
buy('ok-fixed-amount', 'A valid promise and a size whose fee (1200000) is below it.', ['LSPS2-R19', 'LSPS2-R26', 'LSPS2-R30'], {'opening_fee_params': A, 'payment_size_msat': '1000000000'})
buy('ok-variable-amount', 'No payment_size_msat: no-MPP+var-invoice mode.', ['LSPS2-R26', 'LSPS2-R28'], {'opening_fee_params': A})
buy('ok-size-at-min', 'payment_size_msat exactly min_payment_size_msat (inclusive).', ['LSPS2-R8', 'LSPS2-R29'], {'opening_fee_params': A, 'payment_size_msat': '1000000'})
buy('ok-size-at-max', 'payment_size_msat exactly max_payment_size_msat (inclusive).', ['LSPS2-R8', 'LSPS2-R29'], {'opening_fee_params': A, 'payment_size_msat': '4000000000'})
buy('ok-fee-one-below-size', 'Smallest size with fee < size for min_fee 546000: 546001.', ['LSPS2-R19', 'LSPS2-R30'], {'opening_fee_params': SMALL, 'payment_size_msat': '546001'})
buy('ok-valid-until-equals-now', 'valid_until equal to now is not in the past (decision D17).', ['LSPS2-R27'],
    {'opening_fee_params': ofp(546000, 1200, NOW, 1000000, 4000000000), 'payment_size_msat': '1000000000'})
buy('ok-valid-until-lenient-form', 'valid_until re-formatted without milliseconds denotes the same instant only if the millis are zero; the promise covers the instant, so it verifies. The schema (writer form) rejects the text.',
    ['LSPS2-R26', 'LSPS0-R58'], {'opening_fee_params': dict(A, valid_until='2030-01-01T00:10:00Z'), 'payment_size_msat': '1000000000'}, schema_valid=False)
buy('size-fee-equal', 'Fee equals the size (546000 = max(546000, 656)): 202, the fee must be strictly less.', ['LSPS2-R30'],
    {'opening_fee_params': SMALL, 'payment_size_msat': '546000'}, E202)
buy('blip-example-size', 'The bLIP-52 example size 42000 with min_fee 546000 (E2.3 with a valid promise): 202.', ['LSPS2-R30'],
    {'opening_fee_params': SMALL, 'payment_size_msat': '42000'}, E202)
buy('fee-equals-size-at-10e6-ppm', 'proportional 1000000 (100%): fee 1000000000 equals size 1000000000: 202.', ['LSPS2-R19', 'LSPS2-R30'],
    {'opening_fee_params': HUGE, 'payment_size_msat': '1000000000'}, E202)
buy('largest-size-without-overflow', '18446744073708 * 1000000 + 999999 fits in u64; fee = size: 202.', ['LSPS2-R23', 'LSPS2-R30'],
    {'opening_fee_params': HUGE, 'payment_size_msat': '18446744073708'}, E202)
buy('overflow-on-add', '18446744073709 * 1000000 fits but + 999999 overflows: 203 (LDK\'s div_ceil skips this check and would answer 202).',
    ['LSPS2-R22', 'LSPS2-R23', 'LSPS2-R30'], {'opening_fee_params': HUGE, 'payment_size_msat': '18446744073709'}, E203)
buy('overflow-on-multiply', '18446744073710 * 1000000 overflows: 203.', ['LSPS2-R22', 'LSPS2-R30'],
    {'opening_fee_params': HUGE, 'payment_size_msat': '18446744073710'}, E203)
buy('size-below-min', 'payment_size_msat one below min_payment_size_msat: 202 in this project (code unspecified, decision D14).', ['LSPS2-R29'],
    {'opening_fee_params': A, 'payment_size_msat': '999999'}, E202)
buy('size-above-max', 'payment_size_msat one above max_payment_size_msat: 203 in this project (code unspecified, decision D14).', ['LSPS2-R29'],
    {'opening_fee_params': A, 'payment_size_msat': '4000000001'}, E203)
buy('valid-until-past', 'A correctly promised entry whose valid_until is 1 ms before now: 201.', ['LSPS2-R27'],
    {'opening_fee_params': ofp(546000, 1200, '2029-12-31T23:59:59.999Z', 1000000, 4000000000), 'payment_size_msat': '1000000000'}, E201)
for field, value in [('min_fee_msat', '545999'), ('proportional', 1199), ('valid_until', '2030-01-01T00:10:00.001Z'), ('min_lifetime', 1007),
                     ('max_client_to_self_delay', 2017), ('min_payment_size_msat', '999999'), ('max_payment_size_msat', '4000000001')]:
    buy('tampered-' + field.replace('_', '-'), f'{field} changed after the promise was made: 201.', ['LSPS2-R10', 'LSPS2-R26'],
        {'opening_fee_params': dict(A, **{field: value}), 'payment_size_msat': '1000000000'}, E201)
flipped = A['promise'][:-1] + ('0' if A['promise'][-1] != '0' else '1')
buy('tampered-promise-char', 'One promise character changed: 201.', ['LSPS2-R10', 'LSPS2-R26'],
    {'opening_fee_params': dict(A, promise=flipped), 'payment_size_msat': '1000000000'}, E201)
buy('promise-of-other-client', 'A promise made for another node id (this project binds promises to the client; the spec does not require it).', ['LSPS2-R26'],
    {'opening_fee_params': ofp(546000, 1200, FUTURE, 1000000, 4000000000, client=OTHER), 'payment_size_msat': '1000000000'}, E201)
buy('promise-blip-example', 'The bLIP-52 example promise "abcdefghijklmnopqrstuvwxyz" is not one this LSP made: 201.', ['LSPS2-R26'],
    {'opening_fee_params': dict(A, promise='abcdefghijklmnopqrstuvwxyz'), 'payment_size_msat': '1000000000'}, E201)
buy('promise-empty', 'An empty promise: 201.', ['LSPS2-R26'], {'opening_fee_params': dict(A, promise=''), 'payment_size_msat': '1000000000'}, E201)
buy('client-rejected', 'The LSP refuses this client (policy in the context): code 1 with data {message}.', ['LSPS2-R33', 'LSPS0-R63'],
    {'opening_fee_params': A, 'payment_size_msat': '1000000000'}, err(1, 'Client rejected', {'message': FREE}), context=dict(LSPS2_CTX, reject_client=True))
# decode-level failures (no context needed)
def buy_bad(slug, desc, reqs, params, error):
    i = rid('buyb-' + slug)
    request_vector('lsps2/buy/' + slug, desc, reqs, payload=req(BUY, params, i), error=error, id_=i, method=BUY)
buy_bad('unknown-param', 'An extra top-level param.', ['LSPS0-R44'], {'opening_fee_params': A, 'zz': 1}, unrecognized('zz'))
buy_bad('legacy-version-param', 'The pre-2023-12 draft "version" param (H2.4).', ['LSPS0-R44'], {'version': 1, 'opening_fee_params': A, 'payment_size_msat': '42000'}, unrecognized('version'))
buy_bad('opening-fee-params-extra-field', 'opening_fee_params has exactly eight fields: a ninth is an invalid param at its dotted path.', ['LSPS2-R68', 'LSPS1-R25'],
        {'opening_fee_params': dict(A, extra=1), 'payment_size_msat': '1000000000'}, invalid_param('opening_fee_params.extra'))
buy_bad('opening-fee-params-missing-promise', 'opening_fee_params without promise.', ['LSPS2-R68'],
        {'opening_fee_params': {k: v for k, v in A.items() if k != 'promise'}}, invalid_param('opening_fee_params.promise'))
buy_bad('opening-fee-params-missing', 'buy without opening_fee_params.', ['LSPS2-R68'], {'payment_size_msat': '1000000000'}, invalid_param('opening_fee_params'))
buy_bad('opening-fee-params-legacy-no-sizes', 'The pre-2024-02 menu entry without min/max_payment_size_msat (H2.4 shape) lacks a required field.', ['LSPS2-R68'],
        {'opening_fee_params': {k: v for k, v in A.items() if k != 'max_payment_size_msat'}}, invalid_param('opening_fee_params.max_payment_size_msat'))
for slug, field, value, desc in [
    ('min-fee-number', 'min_fee_msat', 546000, 'An msat amount as a JSON number.'),
    ('proportional-string', 'proportional', '1200', 'ppm must be a JSON integer, not a string.'),
    ('proportional-negative', 'proportional', -1, 'ppm below 0.'),
    ('proportional-fraction', 'proportional', 12.5, 'ppm must be integral.'),
    ('valid-until-garbage', 'valid_until', 'tomorrow', 'Not a datetime.'),
    ('valid-until-before-1970', 'valid_until', '1969-12-31T23:59:59.999Z', 'Datetimes before 1970 are rejected (decision D5).'),
    ('valid-until-feb-30', 'valid_until', '2030-02-30T00:00:00.000Z', 'Not a calendar date.'),
    ('min-lifetime-negative', 'min_lifetime', -1, 'A negative block count.'),
    ('promise-number', 'promise', 42, 'promise must be a string.'),
    ('max-payment-over-u64', 'max_payment_size_msat', '18446744073709551616', 'u64::MAX + 1.'),
]:
    buy_bad(slug, desc, ['LSPS1-R25', 'LSPS0-R31'], {'opening_fee_params': dict(A, **{field: value}), 'payment_size_msat': '1000000000'},
            invalid_param('opening_fee_params.' + field))
buy_bad('payment-size-number', 'payment_size_msat as a JSON number (the bLIP example value, unquoted).', ['LSPS0-R49'],
        {'opening_fee_params': A, 'payment_size_msat': 42000}, invalid_param('payment_size_msat'))
buy_bad('payment-size-over-u64', 'payment_size_msat above u64::MAX.', ['LSPS0-R50'],
        {'opening_fee_params': A, 'payment_size_msat': '18446744073709551616'}, invalid_param('payment_size_msat'))

# ------------------------------------------------------------------------------------------
# Response vectors (arrive at a client that has one request pending)
def resp(rel, desc, reqs, method, pending_id, payload=None, payload_hex=None, expect=None, schema_valid=True, violates=()):
    v = {'description': desc, 'requirements': reqs, 'direction': 'response', 'method': method}
    if pending_id is not None:
        v['pending_id'] = pending_id
    if payload_hex is not None:
        v['payload_hex'] = payload_hex
    else:
        v['payload'] = payload
    if violates:
        v['violates'] = list(violates)
    v['expect'] = expect
    if not schema_valid:
        v['schema_valid'] = False
    write(rel, v)
def ok_payload(id_, result):
    return j({'jsonrpc': '2.0', 'id': id_, 'result': result})
P = rid('pending')
R = 'lsps0/envelope/response-'
resp(R + 'blip-list-protocols-example', 'The bLIP-50 list_protocols response (E0.5) with a key clients must ignore.', ['LSPS0-R25', 'LSPS0-R26'], LP,
     'example#3cad6a54d302edba4c9ade2f7ffac098',
     payload='{\n  "jsonrpc": "2.0",\n  "id": "example#3cad6a54d302edba4c9ade2f7ffac098",\n  "result": {\n    "protocols": [1, 3],\n    "example-undefined-key-that-clients-should-ignore": true\n  }\n}',
     expect={'ok': LP})
resp(R + 'unknown-id-ignored', 'A well-formed response to an id the client never issued: ignored.', ['LSPS0-R35'], LP, P,
     payload=ok_payload(rid('someone-else'), {'protocols': [1, 2]}), expect={'ignored': 'unknown_id'})
resp(R + 'error-without-id', 'The LSP could not read our message: -32700 with id null.', ['LSPS0-R10'], LP, P,
     payload=j({'jsonrpc': '2.0', 'id': None, 'error': PARSE}), expect={'error_without_id': PARSE})
resp(R + 'notification', 'An LSP notification: no LSPS0/1/2 notification exists, the client ignores unknown ones.', ['LSPS0-R47', 'LSPS0-R7'], LP, P,
     payload=j({'jsonrpc': '2.0', 'method': 'lsps999.that_happened', 'params': {}}), expect={'notification': 'lsps999.that_happened'})
resp(R + 'error-internal', 'A -32603 internal error is a legitimate reply to any method.', ['LSPS0-R28'], LP, P,
     payload=j({'jsonrpc': '2.0', 'id': P, 'error': {'code': -32603, 'message': 'Internal error'}}), expect={'error': {'code': -32603, 'message': FREE}})
resp(R + 'error-unknown-code', 'An error code the client does not know is still a (generic) error reply; -32042 is in the server-error range (treated like -32603).', ['LSPS0-R47', 'LSPS0-R28', 'LSPS0-R33'], LP, P,
     payload=j({'jsonrpc': '2.0', 'id': P, 'error': {'code': -32042, 'message': 'Server error'}}), expect={'error': {'code': -32042, 'message': FREE}})
resp(R + 'error-data-string-ldk', 'LDK 0.2.7 sends error.data as a string: decoded as received so a checker can flag it (LSPS0-R22).', ['LSPS0-R22'], LP, P,
     payload=j({'jsonrpc': '2.0', 'id': P, 'error': {'code': 100, 'message': 'Option mismatch', 'data': 'Supported options are ...'}}),
     expect={'error': {'code': 100, 'message': FREE, 'data': 'Supported options are ...'}}, schema_valid=False)
def bad(slug, desc, reqs, payload=None, payload_hex=None, cls='not_response_or_notification', method=LP, pending=P):
    resp(R + slug, desc, reqs, method, pending, payload=payload, payload_hex=payload_hex, expect={'bad': cls})
bad('array', 'An array arriving at the client.', ['LSPS0-R3', 'LSPS0-R8'], payload='[]', cls='format')
bad('nul', 'A NUL byte after the response.', ['LSPS0-R5', 'LSPS0-R8'], payload_hex=(ok_payload(P, {'protocols': [1]}).encode() + b'\x00').hex(), cls='format')
bad('invalid-utf8', 'Invalid UTF-8 inside a string.', ['LSPS0-R3', 'LSPS0-R8'], payload_hex=(b'{"jsonrpc":"2.0","id":"' + P.encode() + b'","result":{"x":"\xfe"}}').hex(), cls='format')
bad('two-objects', 'A response followed by a second object.', ['LSPS0-R4', 'LSPS0-R8'], payload=ok_payload(P, {'protocols': [1]}) + '{}', cls='format')
bad('truncated', 'A truncated response.', ['LSPS0-R3', 'LSPS0-R8'], payload=ok_payload(P, {'protocols': [1]})[:-2], cls='format')
bad('request-shaped', 'A request object arriving at the client (the LSP may not send requests).', ['LSPS0-R7', 'LSPS0-R17'],
    payload=req(LP, {}, rid('lsp-request')))
bad('jsonrpc-missing', 'A response without "jsonrpc".', ['LSPS0-R7'], payload=j({'id': P, 'result': {'protocols': [1]}}))
bad('result-and-error', 'Both result and error.', ['LSPS0-R65', 'LSPS0-R7'], payload=j({'jsonrpc': '2.0', 'id': P, 'result': {'protocols': []}, 'error': PARSE}))
bad('neither-result-nor-error', 'Neither result nor error.', ['LSPS0-R65', 'LSPS0-R7'], payload=j({'jsonrpc': '2.0', 'id': P}))
bad('result-not-object', 'A result that is an array (LSPS0 results are always objects).', ['LSPS0-R24'], payload=j({'jsonrpc': '2.0', 'id': P, 'result': [1, 2]}))
bad('id-number', 'A numeric id.', ['LSPS0-R7'], payload=j({'jsonrpc': '2.0', 'id': 7, 'result': {'protocols': [1]}}))
bad('result-with-null-id', 'A result with id null cannot answer anything.', ['LSPS0-R7'], payload=j({'jsonrpc': '2.0', 'id': None, 'result': {'protocols': [1]}}))
bad('error-code-fraction', 'error.code must be an integer.', ['LSPS0-R18'], payload=j({'jsonrpc': '2.0', 'id': P, 'error': {'code': 1.5, 'message': 'x'}}))
bad('error-message-missing', 'error.message is required.', ['LSPS0-R18'], payload=j({'jsonrpc': '2.0', 'id': P, 'error': {'code': 1}}))
bad('extra-member', 'A response with a member JSON-RPC does not define.', ['LSPS0-R17'], payload=j({'jsonrpc': '2.0', 'id': P, 'result': {'protocols': [1]}, 'x': 1}))
bad('notification-params-array', 'A notification with by-position params.', ['LSPS0-R17'], payload=j({'jsonrpc': '2.0', 'method': 'lsps999.x', 'params': [1]}))

def rok(method, slug, desc, reqs, result, schema_valid=True, violates=()):
    resp(f'{method.split(".")[0]}/{method.split(".")[1]}/response-{slug}', desc, reqs, method, P, payload=ok_payload(P, result),
         expect={'ok': method}, schema_valid=schema_valid, violates=violates)
def rbad(method, slug, desc, reqs, result, prop):
    resp(f'{method.split(".")[0]}/{method.split(".")[1]}/response-{slug}', desc, reqs, method, P, payload=ok_payload(P, result),
         expect={'bad': 'invalid_result', 'property': prop})
rok(LP, 'ok', 'A plain list_protocols result.', ['LSPS0-R41'], {'protocols': [1, 2]})
rok(LP, 'ok-empty', 'An LSP serving no LSPS beyond LSPS0.', ['LSPS0-R41'], {'protocols': []})
rok(LP, 'contains-zero-decodes', 'protocols lists 0: decodes, but breaks LSPS0-R42 (the schema and ListProtocolsResult::validate reject it).', ['LSPS0-R42'],
    {'protocols': [0, 1]}, schema_valid=False, violates=['LSPS0-R42'])
rbad(LP, 'protocols-strings', 'protocols as strings.', ['LSPS0-R41'], {'protocols': ['1']}, 'protocols.0')
rbad(LP, 'protocols-missing', 'result without protocols.', ['LSPS0-R41'], {'versions': [1]}, 'protocols')
GI1_RES = {'min_required_channel_confirmations': 0, 'min_funding_confirms_within_blocks': 6, 'supports_zero_channel_reserve': True,
           'max_channel_expiry_blocks': 20160, 'min_initial_client_balance_sat': '20000', 'max_initial_client_balance_sat': '100000000',
           'min_initial_lsp_balance_sat': '0', 'max_initial_lsp_balance_sat': '100000000', 'min_channel_balance_sat': '50000',
           'max_channel_balance_sat': '100000000'}
rok(GI1, 'blip-example', 'The bLIP-51 get_info result (E1.1).', ['LSPS1-R4'], GI1_RES)
rok(GI1, 'extra-key', 'An unknown key in the result is ignored.', ['LSPS0-R25', 'LSPS0-R26'], dict(GI1_RES, website='https://lsp.example'))
rok(GI1, 'min-above-max', 'min_initial_client_balance_sat above its maximum: decodes, breaks min <= max.', ['LSPS1-R5'],
    dict(GI1_RES, min_initial_client_balance_sat='100000001'), violates=['LSPS1-R5'])
rok(GI1, 'max-expiry-zero', 'max_channel_expiry_blocks 0 (must be >= 1).', ['LSPS1-R4'], dict(GI1_RES, max_channel_expiry_blocks=0),
    schema_valid=False, violates=['LSPS1-R4'])
rbad(GI1, 'sat-number', 'A sat field as a JSON number.', ['LSPS1-R4', 'LSPS0-R49'], dict(GI1_RES, max_channel_balance_sat=100000000), 'max_channel_balance_sat')
rbad(GI1, 'missing-field', 'A required field missing.', ['LSPS1-R4'], {k: v for k, v in GI1_RES.items() if k != 'supports_zero_channel_reserve'}, 'supports_zero_channel_reserve')
rbad(GI1, 'legacy-options-wrapper', 'The 2023 shape with an options wrapper (H1.1).', ['LSPS1-R4'],
     {'supported_versions': [1], 'website': 'http://example.com/contact', 'options': GI1_RES}, 'min_required_channel_confirmations')
INVOICE = 'lnbc252u1p3aht9ysp580g4633gd2x9lc5al0wd8wx0mpn9748jeyz46kqjrpxn52uhfpjqpp5qgf67tcqmuqehzgjm8mzya90h73deafvr4m5705l5u5l4r05l8cqdpud3h8ymm4w3jhytnpwpczqmt0de6xsmre2pkxzm3qydmkzdjrdev9s7zhgfaqxqyjw5qcqpjrzjqt6xptnd85lpqnu2lefq4cx070v5cdwzh2xlvmdgnu7gqp4zvkus5zapryqqx9qqqyqqqqqqqqqqqcsq9q9qyysgqen77vu8xqjelum24hgjpgfdgfgx4q0nehhalcmuggt32japhjuksq9jv6eksjfnppm4hrzsgyxt8y8xacxut9qv3fpyetz8t7tsymygq8yzn05'
ORDER_RES = {'order_id': 'bb4b5d0a-8334-49d8-9463-90a6d413af7c', 'lsp_balance_sat': '5000000', 'client_balance_sat': '2000000',
             'required_channel_confirmations': 0, 'funding_confirms_within_blocks': 6, 'channel_expiry_blocks': 144, 'token': '',
             'created_at': '2026-01-14T18:25:43.511Z', 'announce_channel': True, 'order_state': 'CREATED',
             'payment': {'bolt11': {'state': 'EXPECT_PAYMENT', 'expires_at': '2026-01-15T18:25:43.511Z', 'fee_total_sat': '8888',
                                    'order_total_sat': '2008888', 'invoice': INVOICE}},
             'channel': None}
rok(CO, 'ok-bolt11-only', 'A consistent order with a bolt11 option only.', ['LSPS1-R21', 'LSPS1-R22', 'LSPS1-R33'], ORDER_RES)
rok(CO, 'ok-hold', 'bolt11 state HOLD (LDK 0.2.x clients cannot read it: peers.md H4).', ['LSPS1-R36'],
    dict(ORDER_RES, payment={'bolt11': dict(ORDER_RES['payment']['bolt11'], state='HOLD')}))
rok(CO, 'ok-cancelled-legacy', 'Deprecated CANCELLED is still accepted (read as REFUNDED); the schema (writer rule) rejects it.', ['LSPS1-R38', 'LSPS1-R37'],
    dict(ORDER_RES, payment={'bolt11': dict(ORDER_RES['payment']['bolt11'], state='CANCELLED')}), schema_valid=False)
rok(CO, 'ok-token-null-ldk', 'token: null as LDK writes it: accepted as no token; the schema wants "".', ['LSPS1-R19'], dict(ORDER_RES, token=None), schema_valid=False)
rok(CO, 'ok-onchain-null-ldk', 'payment.onchain: null as LDK writes it: treated as absent; the schema wants it omitted.', ['LSPS1-R44'],
    dict(ORDER_RES, payment=dict(ORDER_RES['payment'], onchain=None, bolt12=None)), schema_valid=False)
E13 = json.loads('''{"order_id":"bb4b5d0a-8334-49d8-9463-90a6d413af7c","lsp_balance_sat":"5000000","client_balance_sat":"2000000","required_channel_confirmations":0,"funding_confirms_within_blocks":1,"channel_expiry_blocks":12,"token":"","created_at":"2012-04-23T18:25:43.511Z","announce_channel":true,"order_state":"CREATED","payment":{"bolt11":{"state":"EXPECT_PAYMENT","expires_at":"2015-01-25T19:29:44.612Z","fee_total_sat":"8888","order_total_sat":"2008888","invoice":"%s"},"bolt12":{"state":"EXPECT_PAYMENT","expires_at":"2025-01-01T00:00:00Z","fee_total_sat":"8888","order_total_sat":"200888","offer":"lno1qgsqvgnwgcg35z6ee2h3yczraddm72xrfua9uve2rlrm9deu7xyfzrcgqvp3pwq2q3shxerxzzfqyxdxxkjqxfpt9tz94zj79m4n99kwjddq92uqryuwsu4nt0t3lthfq02jzqla96dtkf4rew8edxw0p85swe89wd8ldekdl5j262n76qyl2qgzajm08clzr74z6ssy0qlvvp9f5kvrxf27yz4pcy99jge69kxu8ttsqt8gw8jsk5397zvvdf4lfd52paf73thcg6xf57xmvtdrwny5mn2r4jw2d5jzalqrq537mmt6u9qpqytzzql6zemrme07jqqwtza76lldcj9wgc0ccd4d2w584cdcx6szsuupvy"},"onchain":{"state":"EXPECT_PAYMENT","expires_at":"2015-01-25T19:29:44.612Z","fee_total_sat":"9999","order_total_sat":"2009999","address":"bc1p5uvtaxzkjwvey2tfy49k5vtqfpjmrgm09cvs88ezyy8h2zv7jhas9tu4yr","min_fee_for_0conf":253,"min_onchain_payment_confirmations":0,"refund_onchain_address":"bc1qvmsy0f3yyes6z9jvddk8xqwznndmdwapvrc0xrmhd3vqj5rhdrrq6hz49h"}},"channel":null}''' % INVOICE)
rok(CO, 'blip-example', 'The bLIP-51 order (E1.3) decodes; its bolt12 expires_at has no milliseconds (schema rejects) and its bolt12 total is inconsistent (LSPS1-R33, checked outside decoding).',
    ['LSPS1-R33', 'LSPS0-R58'], E13, schema_valid=False, violates=['LSPS1-R33'])
ONCHAIN = {'state': 'EXPECT_PAYMENT', 'expires_at': '2026-01-15T18:25:43.511Z', 'fee_total_sat': '9999', 'order_total_sat': '2009999',
           'address': 'bc1p5uvtaxzkjwvey2tfy49k5vtqfpjmrgm09cvs88ezyy8h2zv7jhas9tu4yr', 'min_onchain_payment_confirmations': 0,
           'min_fee_for_0conf': 253, 'refund_onchain_address': 'bc1qvmsy0f3yyes6z9jvddk8xqwznndmdwapvrc0xrmhd3vqj5rhdrrq6hz49h'}
rok(CO, 'ok-onchain-0conf', 'An on-chain option accepting 0-conf payments above 253 sat/kWU.', ['LSPS1-R45', 'LSPS1-R46', 'LSPS1-R48', 'LSPS1-R49'],
    dict(ORDER_RES, payment=dict(ORDER_RES['payment'], onchain=ONCHAIN)))
rok(CO, 'ok-onchain-1conf-null-fee', 'One confirmation required, min_fee_for_0conf null as the rule demands.', ['LSPS1-R48'],
    dict(ORDER_RES, payment=dict(ORDER_RES['payment'], onchain=dict(ONCHAIN, min_onchain_payment_confirmations=1, min_fee_for_0conf=None))))
rok(CO, 'onchain-1conf-with-fee-decodes', 'The bLIP-51 example shape (E1.5/E1.8): 1 confirmation AND min_fee_for_0conf 253. Readers accept it; the schema enforces the nullness rule (decision D8).',
    ['LSPS1-R48'], dict(ORDER_RES, payment=dict(ORDER_RES['payment'], onchain=dict(ONCHAIN, min_onchain_payment_confirmations=1))), schema_valid=False,
    violates=['LSPS1-R48'])
B11 = ORDER_RES['payment']['bolt11']
rok(CO, 'total-mismatch', 'order_total_sat is not fee_total_sat + client_balance_sat.', ['LSPS1-R33'],
    dict(ORDER_RES, payment={'bolt11': dict(B11, order_total_sat='2008887')}), violates=['LSPS1-R33'])
rok(CO, 'onchain-hold', 'HOLD is not an on-chain state: decodes (shared state type) but breaks the on-chain enum.', ['LSPS1-R45'],
    dict(ORDER_RES, payment=dict(ORDER_RES['payment'], onchain=dict(ONCHAIN, state='HOLD'))), schema_valid=False, violates=['LSPS1-R45'])
rok(CO, 'invoice-too-long', 'A bolt11 invoice of 2049 characters.', ['LSPS1-R34'],
    dict(ORDER_RES, payment={'bolt11': dict(B11, invoice='lnbc' + 'q' * 2045)}), schema_valid=False, violates=['LSPS1-R34'])
rok(GO, 'completed-without-channel', 'COMPLETED with channel null.', ['LSPS1-R64'],
    dict(ORDER_RES, order_state='COMPLETED', payment={'bolt11': dict(B11, state='PAID')}), violates=['LSPS1-R64'])
rok(GO, 'channel-while-created', 'A channel object while the order is still CREATED.', ['LSPS1-R22'],
    dict(ORDER_RES, payment={'bolt11': dict(B11, state='HOLD')}, channel={'funded_at': '2026-01-14T19:00:00.000Z',
         'funding_outpoint': '0301e0480b374b32851a9462db29dc19fe830a7f7d7a88b81612b9d42099c0ae:0', 'expires_at': '2026-04-14T19:00:00.000Z'}),
    violates=['LSPS1-R22'])
rok(GO, 'paid-before-completed', 'bolt11 PAID (preimage released) while the order is CREATED: the preimage may only be released after the open.', ['LSPS1-R40'],
    dict(ORDER_RES, payment={'bolt11': dict(B11, state='PAID')}), violates=['LSPS1-R40'])
rok(CO, 'ok-no-payment-options', 'An LSP may omit every payment option (LSPS1-R32; a runner warns).', ['LSPS1-R32'], dict(ORDER_RES, payment={}))
rok(CO, 'ok-unknown-payment-option', 'An unknown payment option next to bolt11 is ignored by the client.', ['LSPS1-R31', 'LSPS0-R26'],
    dict(ORDER_RES, payment=dict(ORDER_RES['payment'], lnurl={'state': 'EXPECT_PAYMENT', 'url': 'lnurl1dp68gurn8ghj7'})))
rok(CO, 'offer-too-long', 'A bolt12 offer of 2049 characters.', ['LSPS1-R42'],
    dict(ORDER_RES, payment={'bolt12': {'state': 'EXPECT_PAYMENT', 'expires_at': '2026-01-15T18:25:43.511Z', 'fee_total_sat': '8888',
                                        'order_total_sat': '2008888', 'offer': 'lno1' + 'q' * 2045}}), schema_valid=False, violates=['LSPS1-R42'])
rbad(CO, 'order-id-too-long', 'An order_id of 65 characters (at most 64).', ['LSPS1-R17'], dict(ORDER_RES, order_id='a' * 65), 'order_id')
rbad(CO, 'onchain-confirmations-over-u16', 'min_onchain_payment_confirmations above 65535.', ['LSPS1-R47'],
     dict(ORDER_RES, payment=dict(ORDER_RES['payment'], onchain=dict(ONCHAIN, min_onchain_payment_confirmations=70000))), 'payment.onchain.min_onchain_payment_confirmations')
rbad(CO, 'bad-state', 'An order_state outside the enum.', ['LSPS1-R21'], dict(ORDER_RES, order_state='EXPIRED'), 'order_state')
rbad(CO, 'created-at-garbage', 'created_at not a datetime.', ['LSPS1-R20'], dict(ORDER_RES, created_at='yesterday'), 'created_at')
rbad(CO, 'legacy-flat-payment', 'An order without funding_confirms_within_blocks (the 2023 shape H1.3 used confirms_within_blocks instead).',
     ['LSPS1-R18'], {k: v for k, v in ORDER_RES.items() if k != 'funding_confirms_within_blocks'}, 'funding_confirms_within_blocks')
CHAN = {'funded_at': '2012-04-23T18:25:43.511Z', 'funding_outpoint': '0301e0480b374b32851a9462db29dc19fe830a7f7d7a88b81612b9d42099c0ae:0',
        'expires_at': '2012-04-23T18:25:43.511Z'}
rok(GO, 'ok-completed-with-channel', 'A completed order with the bLIP-51 channel object (E1.9).', ['LSPS1-R58', 'LSPS1-R64'],
    dict(ORDER_RES, order_state='COMPLETED', payment={'bolt11': dict(ORDER_RES['payment']['bolt11'], state='PAID')}, channel=CHAN))
rbad(GO, 'bad-outpoint', 'funding_outpoint without an index.', ['LSPS0-R62'], dict(ORDER_RES, order_state='COMPLETED', channel=dict(CHAN, funding_outpoint='0301e0480b374b32851a9462db29dc19fe830a7f7d7a88b81612b9d42099c0ae')), 'channel.funding_outpoint')
resp('lsps1/get_order/response-not-found', 'The LSP answers 101 for an unknown order.', ['LSPS1-R30'], GO, P,
     payload=j({'jsonrpc': '2.0', 'id': P, 'error': err(101, 'Not found', {})}), expect={'error': {'code': 101, 'message': FREE, 'data': {}}})
E22 = {'opening_fee_params_menu': [
    {'min_fee_msat': '546000', 'proportional': 1200, 'valid_until': '2023-02-23T08:47:30.511Z', 'min_lifetime': 1008, 'max_client_to_self_delay': 2016,
     'min_payment_size_msat': '1000', 'max_payment_size_msat': '1000000', 'promise': 'abcdefghijklmnopqrstuvwxyz'},
    {'min_fee_msat': '1092000', 'proportional': 2400, 'valid_until': '2023-02-27T21:23:57.984Z', 'min_lifetime': 1008, 'max_client_to_self_delay': 2016,
     'min_payment_size_msat': '1000', 'max_payment_size_msat': '1000000', 'promise': 'abcdefghijklmnopqrstuvwxyz'}]}
rok(GI2, 'blip-example', 'The bLIP-52 get_info result (E2.2).', ['LSPS2-R4', 'LSPS2-R5', 'LSPS2-R9'], E22)
rok(GI2, 'ok-empty-menu', 'An empty menu: no JIT service for this client.', ['LSPS2-R4'], {'opening_fee_params_menu': []})
rok(GI2, 'ok-extra-top-level-key', 'Extra keys are allowed at the top level of the result.', ['LSPS0-R25'], dict(E22, note='hello'))
rok(GI2, 'ok-nine-fraction-digits-lenient', 'valid_until with nine fractional digits (ldk-node): decodes leniently; the schema rejects it.', ['LSPS0-R58'],
    {'opening_fee_params_menu': [dict(E22['opening_fee_params_menu'][0], valid_until='2023-02-23T08:47:30.511000000Z')]}, schema_valid=False)
M0 = E22['opening_fee_params_menu'][0]; M1 = E22['opening_fee_params_menu'][1]
rok(GI2, 'menu-out-of-order', 'The bLIP-52 example menu reversed: the second entry is cheaper.', ['LSPS2-R9'],
    {'opening_fee_params_menu': [M1, M0]}, violates=['LSPS2-R9'])
rok(GI2, 'menu-equal-fees', 'Two entries with the same fee pair but different valid_until (decision D25).', ['LSPS2-R9'],
    {'opening_fee_params_menu': [M0, dict(M0, valid_until='2023-02-24T08:47:30.511Z')]}, violates=['LSPS2-R9'])
rok(GI2, 'menu-mixed-direction', 'Larger min_fee_msat but smaller proportional: not more expensive in every case.', ['LSPS2-R9'],
    {'opening_fee_params_menu': [M0, dict(M1, proportional=1000)]}, violates=['LSPS2-R9'])
rok(GI2, 'promise-513-bytes', 'A promise of 513 bytes: the client MUST abort.', ['LSPS2-R12', 'LSPS2-R15'],
    {'opening_fee_params_menu': [dict(M0, promise='a' * 513)]}, schema_valid=False, violates=['LSPS2-R12'])
rok(GI2, 'promise-512-bytes', 'A promise of exactly 512 bytes is allowed.', ['LSPS2-R12'], {'opening_fee_params_menu': [dict(M0, promise='a' * 512)]})
rok(GI2, 'promise-non-ascii', 'A promise with a non-ASCII character.', ['LSPS2-R13'],
    {'opening_fee_params_menu': [dict(M0, promise='abcé')]}, schema_valid=False, violates=['LSPS2-R13'])
rok(GI2, 'promise-needs-escaping', 'A promise containing a double quote, which JSON must escape.', ['LSPS2-R14'],
    {'opening_fee_params_menu': [dict(M0, promise='ab"cd')]}, schema_valid=False, violates=['LSPS2-R14'])
rbad(GI2, 'extra-field-in-entry', 'A ninth field in a menu entry: the client MUST abort.', ['LSPS2-R5', 'LSPS2-R17', 'LSPS2-R18'],
     {'opening_fee_params_menu': [dict(E22['opening_fee_params_menu'][0], extra_field=1)]}, 'opening_fee_params_menu.0.extra_field')
rbad(GI2, 'missing-promise', 'A menu entry without promise.', ['LSPS2-R5'],
     {'opening_fee_params_menu': [{k: v for k, v in E22['opening_fee_params_menu'][0].items() if k != 'promise'}]}, 'opening_fee_params_menu.0.promise')
rbad(GI2, 'legacy-top-level-sizes', 'The pre-2024-02 shape (H2.3 without its trailing comma): entries lack the size fields.', ['LSPS2-R5'],
     {'opening_fee_params_menu': [{k: v for k, v in E22['opening_fee_params_menu'][0].items() if 'payment_size' not in k}],
      'min_payment_size_msat': '1000', 'max_payment_size_msat': '1000000'}, 'opening_fee_params_menu.0.min_payment_size_msat')
resp('lsps2/get_info/response-legacy-trailing-comma', 'The H2.3 draft example verbatim has a trailing comma: not JSON.', ['LSPS0-R3'], GI2, P,
     payload='{"jsonrpc":"2.0","id":"%s","result":{"opening_fee_params_menu":[],"min_payment_size_msat":"1000","max_payment_size_msat":"1000000",}}' % P,
     expect={'bad': 'format'})
resp('lsps2/get_info/response-unknown-token', 'The LSP answers 200 for an unrecognised token.', ['LSPS2-R3'], GI2, P,
     payload=j({'jsonrpc': '2.0', 'id': P, 'error': err(200, 'Unrecognized or stale token')}), expect={'error': {'code': 200, 'message': FREE}})
rok(BUY, 'blip-example', 'The bLIP-52 buy result (E2.4).', ['LSPS2-R34'], {'jit_channel_scid': '29451x4815x1', 'lsp_cltv_expiry_delta': 144, 'client_trusts_lsp': False})
rok(BUY, 'ok-no-trust-flag', 'client_trusts_lsp omitted (defaults to false).', ['LSPS2-R34', 'LSPS2-R58'], {'jit_channel_scid': '539268x845x1', 'lsp_cltv_expiry_delta': 144})
rok(BUY, 'ok-max-scid', 'The largest SCID 16777215x16777215x65535.', ['LSPS0-R53'], {'jit_channel_scid': '16777215x16777215x65535', 'lsp_cltv_expiry_delta': 144})
rbad(BUY, 'scid-uppercase-x', 'SCID with an uppercase X.', ['LSPS0-R53'], {'jit_channel_scid': '29451X4815X1', 'lsp_cltv_expiry_delta': 144}, 'jit_channel_scid')
rbad(BUY, 'scid-block-too-big', 'SCID block height above 2^24 - 1.', ['LSPS0-R53'], {'jit_channel_scid': '16777216x1x1', 'lsp_cltv_expiry_delta': 144}, 'jit_channel_scid')
rbad(BUY, 'scid-as-number', 'SCID as a u64 number.', ['LSPS0-R53'], {'jit_channel_scid': 32381496229298177, 'lsp_cltv_expiry_delta': 144}, 'jit_channel_scid')
rbad(BUY, 'cltv-delta-string', 'lsp_cltv_expiry_delta as a string.', ['LSPS2-R34'], {'jit_channel_scid': '29451x4815x1', 'lsp_cltv_expiry_delta': '144'}, 'lsp_cltv_expiry_delta')
rbad(BUY, 'trust-flag-string', 'client_trusts_lsp as a string.', ['LSPS2-R34'], {'jit_channel_scid': '29451x4815x1', 'lsp_cltv_expiry_delta': 144, 'client_trusts_lsp': 'false'}, 'client_trusts_lsp')
resp('lsps2/buy/response-invalid-params-error', 'A 201 reply to buy; 201 defines no data and the client expects none.', ['LSPS2-R33', 'LSPS0-R23'], BUY, P,
     payload=j({'jsonrpc': '2.0', 'id': P, 'error': E201}), expect={'error': {'code': 201, 'message': FREE}})

print(COUNT, 'vectors written')
