@echo off
rem vm extras for win11: run from the extras CD as administrator
rem (`vm extras install win11` does so through the guest agent).
setlocal
set EXTRAS=%~dp0
set STATE=%ProgramData%\vm
if not exist "%STATE%" mkdir "%STATE%"
set RESULT=0
echo Installing the usbmmidd virtual display
call "%EXTRAS%usbmmidd-install.cmd" || set RESULT=1
echo Making the virtual display primary at 3840x2160
powershell -NoProfile -ExecutionPolicy Bypass -File "%EXTRAS%set-display.ps1" || set RESULT=1
exit /b %RESULT%
