import Digest
import Testing

@Suite("MD5 and HMAC-MD5 (HTTP_GET digest, VRRP auth_type AH)")
struct MD5Tests {
    @Test("RFC 1321's test suite")
    func rfc1321() {
        let cases = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"), ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"), ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
            (
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                "d174ab98d277d9f5a5611c2c9f419d9f"
            ),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a"
            ),
        ]
        for (text, digest) in cases { #expect(MD5.hex(Array(text.utf8)) == digest, "\(text)") }
    }

    /// Messages whose padding crosses a block boundary (55, 56, 63, 64 and 65 bytes) agree with `md5sum`.
    @Test("padding at block boundaries")
    func blockBoundaries() {
        let cases = [
            (55, "ef1772b6dff9a122358552954ad0df65"), (56, "3b0c8ac703f828b04c6c197006d17218"),
            (63, "b06521f39153d618550606be297466d5"), (64, "014842d480b571495a4a0363793f7367"),
            (65, "c743a45e0d2e6a95cb859adae0248435"),
        ]
        for (count, digest) in cases {
            #expect(MD5.hex([UInt8](repeating: 0x61, count: count)) == digest, "\(count) bytes")
        }
    }

    /// RFC 2202 §2's HMAC-MD5 test cases: every key length class (16, 4, 25, 80 bytes) and a 50-byte message.
    @Test("RFC 2202's HMAC-MD5 test cases")
    func rfc2202() {
        let cases: [(key: [UInt8], message: [UInt8], mac: String)] = [
            ([UInt8](repeating: 0x0b, count: 16), Array("Hi There".utf8), "9294727a3638bb1c13f48ef8158bfc9d"),
            (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8), "750c783e6ab0b503eaa86e310a5db738"),
            (
                [UInt8](repeating: 0xaa, count: 16), [UInt8](repeating: 0xdd, count: 50),
                "56be34521d144c88dbb8c733f0e8b3f6"
            ),
            (Array(1...25), [UInt8](repeating: 0xcd, count: 50), "697eaf0aca3a3aea3a75164746ffaa79"),
            (
                [UInt8](repeating: 0xaa, count: 80),
                Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
                "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"
            ),
            (
                [UInt8](repeating: 0xaa, count: 80),
                Array("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data".utf8),
                "6f630fad67cda0ee1fb1f562db3aa53e"
            ),
        ]
        for (key, message, mac) in cases {
            #expect(hex(MD5.hmac(key: key, message: message)) == mac, "key of \(key.count) bytes")
        }
    }

    private func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xf)]] }, as: UTF8.self)
    }
}
