/// Programs and messages Vigil sends out of its workers: notify scripts, `vrrp_script` and MISC_CHECK
/// programs, `notify_fifo` lines and `smtp_alert` mail.
public enum Notifier {}
