import { describe, expect, it } from 'vitest';
import { DEFAULT_RCVBUF, parseUdpUrl, type UdpInputSpec } from '../../../../src/source/live/udp-url.js';

const KIB = 1024;
const MIB = 1024 * KIB;

function errorOf(url: string): string {
  try {
    parseUdpUrl(url);
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    return (err as Error).message;
  }
  throw new Error(`'${url}' was accepted`);
}

describe('parseUdpUrl: accepted URLs', () => {
  it('a multicast group with defaults', () => {
    const spec: UdpInputSpec = parseUdpUrl('udp://239.0.0.1:1234');
    expect(spec).toEqual({ url: 'udp://239.0.0.1:1234', host: '239.0.0.1', port: 1234, multicast: true, rcvbuf: DEFAULT_RCVBUF, rtp: 'auto' });
    expect(DEFAULT_RCVBUF).toBe(16 * MIB);
  });

  it.each([
    ['224.0.0.0', true],
    ['239.255.255.255', true],
    ['223.255.255.255', false],
    ['240.0.0.1', false],
    ['10.1.2.3', false],
    ['0.0.0.0', false],
    ['127.0.0.1', false],
  ])('%s is multicast: %s', (host, multicast) => {
    const spec = parseUdpUrl(`udp://${host}:5000`);
    expect(spec.host).toBe(host);
    expect(spec.multicast).toBe(multicast);
  });

  it('an interface name or address before @', () => {
    expect(parseUdpUrl('udp://eth1@239.0.0.2:5000')).toMatchObject({ iface: 'eth1', host: '239.0.0.2', port: 5000, multicast: true });
    expect(parseUdpUrl('udp://10.0.0.5@239.0.0.2:5000').iface).toBe('10.0.0.5');
    expect(parseUdpUrl('udp://eth0.100@239.0.0.2:5000').iface).toBe('eth0.100');
    // An interface with 0.0.0.0: receive on that interface's address only.
    expect(parseUdpUrl('udp://lo@0.0.0.0:5000')).toMatchObject({ iface: 'lo', multicast: false });
  });

  it('iface= is the same as IFACE@', () => {
    expect(parseUdpUrl('udp://239.0.0.2:5000?iface=eth1').iface).toBe('eth1');
    expect(parseUdpUrl('udp://239.0.0.2:5000?iface=192.168.1.2').iface).toBe('192.168.1.2');
  });

  it('IPv6 in brackets, unicast and multicast', () => {
    expect(parseUdpUrl('udp://[::1]:1234')).toMatchObject({ host: '::1', port: 1234, multicast: false });
    expect(parseUdpUrl('udp://[ff02::1]:1234')).toMatchObject({ host: 'ff02::1', multicast: true });
    expect(parseUdpUrl('udp://eth0@[ff02::1]:1234').iface).toBe('eth0');
  });

  it.each([
    ['65536', 64 * KIB],
    ['64k', 64 * KIB],
    ['64K', 64 * KIB],
    ['2m', 2 * MIB],
    ['32M', 32 * MIB],
    ['1024m', 1024 * MIB],
    ['1048576', MIB],
  ])('rcvbuf=%s is %d bytes', (value, bytes) => {
    expect(parseUdpUrl(`udp://239.0.0.1:1234?rcvbuf=${value}`).rcvbuf).toBe(bytes);
  });

  it('source= for source-specific multicast', () => {
    expect(parseUdpUrl('udp://232.1.1.1:1234?source=10.0.0.9')).toMatchObject({ host: '232.1.1.1', source: '10.0.0.9', multicast: true });
  });

  it('program= in 1..65535', () => {
    expect(parseUdpUrl('udp://239.0.0.1:1234?program=1').program).toBe(1);
    expect(parseUdpUrl('udp://239.0.0.1:1234?program=65535').program).toBe(65535);
    expect(parseUdpUrl('udp://239.0.0.1:1234').program).toBeUndefined();
  });

  it.each(['auto', 'on', 'off'] as const)('rtp=%s', (mode) => {
    expect(parseUdpUrl(`udp://239.0.0.1:1234?rtp=${mode}`).rtp).toBe(mode);
  });

  it('every option together, in any order; the URL is kept as written', () => {
    const url = 'udp://lo@239.1.2.3:1234?rtp=on&program=7&rcvbuf=8m&source=127.0.0.1';
    expect(parseUdpUrl(url)).toEqual({
      url,
      host: '239.1.2.3',
      port: 1234,
      multicast: true,
      iface: 'lo',
      source: '127.0.0.1',
      rcvbuf: 8 * MIB,
      program: 7,
      rtp: 'on',
    });
  });

  it('a trailing slash and an upper-case scheme are tolerated', () => {
    expect(parseUdpUrl('udp://239.0.0.1:1234/').port).toBe(1234);
    expect(parseUdpUrl('UDP://239.0.0.1:1234').host).toBe('239.0.0.1');
  });

  it('the interface name is not looked up when parsing (a config is valid on any machine)', () => {
    expect(parseUdpUrl('udp://nosuchif9@239.0.0.1:1234').iface).toBe('nosuchif9');
  });
});

describe('parseUdpUrl: errors name what is wrong', () => {
  const SYNTAX = 'expected udp://[IFACE@]HOST:PORT[?options]';
  it.each([
    ['239.0.0.1:1234', SYNTAX],
    ['rtmp://x/app', "unsupported scheme 'rtmp:' (only udp is supported)"],
    ['udp:239.0.0.1:1234', "missing '//' after 'udp:'"],
    ['udp://239.0.0.1', 'missing port'],
    ['udp://239.0.0.1:', 'missing port'],
    ['udp://:1234', 'missing host (use 0.0.0.0 to receive on every interface)'],
    ['udp://239.0.0.1:0', "port '0' is not a number in 1..65535"],
    ['udp://239.0.0.1:65536', "port '65536' is not a number in 1..65535"],
    ['udp://239.0.0.1:12a', "port '12a' is not a number in 1..65535"],
    ['udp://239.0.0.1:1234/live', 'a path is not allowed after HOST:PORT'],
    ['udp://239.0.0.1:1234#x', "a fragment ('#…') is not allowed"],
    ['udp://example.com:1234', "host 'example.com' is not an IPv4 address (host names are not resolved)"],
    ['udp://256.0.0.1:1234', "host '256.0.0.1' is not an IPv4 address"],
    ['udp://127.1:1234', "host '127.1' is not an IPv4 address"],
    ['udp://ff02::1:1234', 'an IPv6 host must be in brackets'],
    ['udp://[ff02::1:1234', "unclosed '[' in the IPv6 host"],
    ['udp://[nothex]:1234', "'nothex' is not an IPv6 address"],
    ['udp://[::1]', 'missing port after [::1]'],
    ['udp://@239.0.0.1:1234', "empty interface before '@'"],
    ['udp://300.1.1.1@239.0.0.1:1234', "interface '300.1.1.1' is not a valid IPv4 address"],
    ['udp://239.0.0.9@239.0.0.1:1234', "interface '239.0.0.9' must be the unicast address of a local interface"],
    ['udp://0.0.0.0@239.0.0.1:1234', "interface '0.0.0.0' must be the unicast address of a local interface"],
    ['udp://eth/0@239.0.0.1:1234', 'a path is not allowed'],
    ['udp://a-very-long-interface-name@239.0.0.1:1234', "interface 'a-very-long-interface-name' is neither an IPv4 address nor an interface name"],
    ['udp://eth0@239.0.0.1:1234?iface=eth1', "the interface is given twice ('eth0@' and 'iface=eth1'); use one"],
    ['udp://239.0.0.1:1234?iface=e%th', "interface 'e%th' is neither an IPv4 address nor an interface name"],
    ['udp://eth0@10.0.0.1:1234', 'an interface only applies to a multicast group or to 0.0.0.0, not to the unicast address 10.0.0.1'],
    ['udp://10.0.0.2@[ff02::1]:1234', 'an IPv6 group needs an interface name, not the IPv4 address 10.0.0.2'],
    ['udp://239.0.0.1:1234?', "empty option list after '?'"],
    ['udp://239.0.0.1:1234?rtp', "option 'rtp' is not key=value"],
    ['udp://239.0.0.1:1234?=1', "option '=1' is not key=value"],
    ['udp://239.0.0.1:1234?rtp=on&', "option '' is not key=value"],
    ['udp://239.0.0.1:1234?buffer=1m', "unknown option 'buffer' (known: rcvbuf, source, program, iface, rtp)"],
    ['udp://239.0.0.1:1234?rtp=', "empty value for option 'rtp'"],
    ['udp://239.0.0.1:1234?rtp=on&rtp=off', "option 'rtp' is given twice"],
    ['udp://239.0.0.1:1234?rcvbuf=1g', "rcvbuf '1g' is not a byte count (digits, optionally followed by k or m)"],
    ['udp://239.0.0.1:1234?rcvbuf=-5', "rcvbuf '-5' is not a byte count"],
    ['udp://239.0.0.1:1234?rcvbuf=1.5m', "rcvbuf '1.5m' is not a byte count"],
    ['udp://239.0.0.1:1234?rcvbuf=63k', "rcvbuf '63k' is outside 64k..1024m"],
    ['udp://239.0.0.1:1234?rcvbuf=65535', "rcvbuf '65535' is outside 64k..1024m"],
    ['udp://239.0.0.1:1234?rcvbuf=1025m', "rcvbuf '1025m' is outside 64k..1024m"],
    ['udp://232.1.1.1:1234?source=host.example', "source 'host.example' is not an IPv4 address"],
    ['udp://232.1.1.1:1234?source=::1', "source '::1' is not an IPv4 address"],
    ['udp://232.1.1.1:1234?source=239.0.0.1', "source '239.0.0.1' must be a unicast sender address"],
    ['udp://232.1.1.1:1234?source=0.0.0.0', "source '0.0.0.0' must be a unicast sender address"],
    ['udp://10.0.0.1:1234?source=10.0.0.9', 'source= (source-specific multicast) needs an IPv4 multicast HOST, not 10.0.0.1'],
    ['udp://[ff02::1]:1234?source=10.0.0.9', 'source= (source-specific multicast) needs an IPv4 multicast HOST, not ff02::1'],
    ['udp://239.0.0.1:1234?program=0', "program '0' is not a program_number in 1..65535"],
    ['udp://239.0.0.1:1234?program=65536', "program '65536' is not a program_number in 1..65535"],
    ['udp://239.0.0.1:1234?program=x', "program 'x' is not a program_number in 1..65535"],
    ['udp://239.0.0.1:1234?rtp=yes', "rtp 'yes' must be auto, on or off"],
  ])('%s', (url, reason) => {
    const message = errorOf(url);
    expect(message.startsWith(`invalid input '${url}': `)).toBe(true);
    expect(message).toContain(reason);
  });
});
