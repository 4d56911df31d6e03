/// Sends generic netlink requests and returns their replies: the seam between the pure codecs and the socket.
///
/// `GenericNetlinkSocket` is the real one; tests put a scripted transport in its place.
public protocol GenericNetlinkTransport: AnyObject {
    /// The id of the generic netlink family called `name` ("IPVS").
    func resolveFamily(named name: String) throws(NetlinkError) -> UInt16

    /// Sends `request` and collects the data messages answering it until `NLMSG_DONE` or the ACK.
    /// - Parameters:
    ///   - style: `.dump` for `NLM_F_DUMP` requests, `.acknowledged` for requests with `NLM_F_ACK`.
    ///   - operation: names the request and its object in errors.
    /// - Throws: `NetlinkError`: the kernel's errno, libnl's failure, or a malformed reply.
    func exchange(_ request: GenericNetlinkMessage, style: NetlinkTransaction.Style, operation: String)
        throws(NetlinkError) -> [NetlinkMessage]
}
