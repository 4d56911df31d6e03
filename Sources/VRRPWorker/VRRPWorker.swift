/// The IP protocol number of VRRP (RFC 5798 §5.1.1.4).
public let vrrpIPProtocol: UInt8 = 112
