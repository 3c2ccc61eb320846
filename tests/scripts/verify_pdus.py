#!/usr/bin/python3
"""Checks exported events as a federating server would, independently of the engine's C# code: the content hash
(spec server-server "Calculating the content hash for an event"), the ed25519 signature of the sending server on the
redacted event (PyNaCl / libsodium) and, from room version 3, the event ID = reference hash.

usage: verify_pdus.py EXPORT.jsonl SERVER_NAME KEY_ID PUBLIC_KEY_BASE64 ROOM_VERSION
Prints one line per event and exits 1 if any event does not verify.
"""
import base64, hashlib, json, sys
import nacl.signing, nacl.exceptions


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(',', ':'), ensure_ascii=False).encode('utf-8')


def b64(data, urlsafe=False):
    text = base64.b64encode(data).decode().rstrip('=')
    return text.replace('+', '-').replace('/', '_') if urlsafe else text


def unb64(text):
    text = text.replace('-', '+').replace('_', '/')
    return base64.b64decode(text + '=' * (-len(text) % 4))


def redact(event, version):
    """Spec "Redactions", per room version (the rules the engine's Redaction.Redact implements)."""
    v = int(version)
    keep = {'event_id', 'type', 'room_id', 'sender', 'state_key', 'content', 'hashes', 'signatures', 'depth',
            'prev_events', 'auth_events', 'origin_server_ts'}
    if v < 11:
        keep |= {'prev_state', 'membership', 'origin'}
    content = event.get('content', {})
    t = event.get('type')
    kept = {}
    if t == 'm.room.member':
        kept = {k: content[k] for k in ('membership',) if k in content}
        if v >= 9 and 'join_authorised_via_users_server' in content:
            kept['join_authorised_via_users_server'] = content['join_authorised_via_users_server']
        if v >= 11 and isinstance(content.get('third_party_invite'), dict) and 'signed' in content['third_party_invite']:
            kept['third_party_invite'] = {'signed': content['third_party_invite']['signed']}
    elif t == 'm.room.create':
        kept = dict(content) if v >= 11 else {k: content[k] for k in ('creator',) if k in content}
    elif t == 'm.room.join_rules':
        names = ('join_rule', 'allow') if v >= 8 else ('join_rule',)
        kept = {k: content[k] for k in names if k in content}
    elif t == 'm.room.power_levels':
        names = ['ban', 'events', 'events_default', 'kick', 'redact', 'state_default', 'users', 'users_default']
        if v >= 11:
            names.append('invite')
        kept = {k: content[k] for k in names if k in content}
    elif t == 'm.room.history_visibility':
        kept = {k: content[k] for k in ('history_visibility',) if k in content}
    elif t == 'm.room.aliases' and v < 6:
        kept = {k: content[k] for k in ('aliases',) if k in content}
    elif t == 'm.room.redaction' and v >= 11:
        kept = {k: content[k] for k in ('redacts',) if k in content}
    redacted = {k: val for k, val in event.items() if k in keep}
    redacted['content'] = kept
    return redacted


def pdu_of(event, version):
    """The PDU as sent over federation: no event_id from v3; no room_id on a v12 create event."""
    pdu = dict(event)
    if int(version) >= 3:
        pdu.pop('event_id', None)
    if int(version) >= 12 and pdu.get('type') == 'm.room.create':
        pdu.pop('room_id', None)
    return pdu


def check(event, server, key_id, verify_key, version):
    pdu = pdu_of(event, version)
    problems = []
    unhashed = {k: val for k, val in pdu.items() if k not in ('unsigned', 'signatures', 'hashes')}
    if b64(hashlib.sha256(canonical(unhashed)).digest()) != pdu.get('hashes', {}).get('sha256'):
        problems.append('content hash mismatch')
    signature = pdu.get('signatures', {}).get(server, {}).get(key_id)
    signed = {k: val for k, val in redact(pdu, version).items() if k not in ('signatures', 'unsigned')}
    try:
        verify_key.verify(canonical(signed), unb64(signature or ''))
    except (nacl.exceptions.BadSignatureError, ValueError):
        problems.append('signature does not verify' if signature else 'no signature by %s %s' % (server, key_id))
    if int(version) >= 3:
        reference = hashlib.sha256(canonical(signed)).digest()
        expected = '$' + b64(reference, urlsafe=int(version) >= 4)
        if expected != event.get('event_id'):
            problems.append('event_id %s is not the reference hash %s' % (event.get('event_id'), expected))
    return problems


def main():
    path, server, key_id, public_key, version = sys.argv[1:6]
    verify_key = nacl.signing.VerifyKey(unb64(public_key))
    failed = 0
    with open(path, encoding='utf-8') as lines:
        for line in lines:
            if not line.strip():
                continue
            event = json.loads(line)
            problems = check(event, server, key_id, verify_key, version)
            failed += bool(problems)
            print('%s %s %s' % (event.get('event_id'), 'ok' if not problems else 'FAILED', '; '.join(problems)))
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
