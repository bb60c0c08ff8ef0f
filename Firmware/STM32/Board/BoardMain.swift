/// Entry of the reference-board image (called by the reset handler): the port on the board's
/// converters, switches and sensors. Flash it to the board's STM32F405VG (docs/hardware.md).
@_cdecl("landauer_main")
func landauerMain() -> Never {
    Heap.initialize()
    let clock = ClockTree.configure(crystalHertz: 8_000_000)
    let timebase = Timebase.start(coreHertz: clock.systemHertz)
    let link = USART.start(apb2Hertz: clock.apb2Hertz, baud: HostLink.baud)
    let markers = MarkerLines()
    markers.configure()
    let frontEnd = ReferenceFrontEnd(clock: clock, timebase: timebase, markerLines: markers)
    serve(frontEnd, over: link)
}
