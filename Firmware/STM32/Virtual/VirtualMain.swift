/// Entry of the virtual images (called by the reset handler): the port on the model front end.
/// These are the images QEMU's netduinoplus2 machine boots in CI: ideal devices by default,
/// constant-step devices when built with `-D LANDAUER_CONSTANT_STEP`.
@_cdecl("landauer_main")
func landauerMain() -> Never {
    Heap.initialize()
    let clock = ClockTree.configure()
    let timebase = Timebase.start(coreHertz: clock.systemHertz)
    let link = USART.start(apb2Hertz: clock.apb2Hertz, baud: HostLink.baud)
    let markers = MarkerLines()
    markers.configure()
    #if LANDAUER_CONSTANT_STEP
        let profile = ModelProfile.qemuConstantStep
    #else
        let profile = ModelProfile.qemuReference
    #endif
    let frontEnd = ModelFrontEnd(profile: profile, clock: clock, timebase: timebase, markerLines: markers)
    serve(frontEnd, over: link)
}
