@echo off
rem vm extras for {{VM_NAME}}: run from the extras CD as administrator
rem (`vm extras install {{VM_NAME}}` does so through the guest agent).
setlocal
set EXTRAS=%~dp0
set STATE=%ProgramData%\vm
if not exist "%STATE%" mkdir "%STATE%"
set RESULT=0
{{STEPS}}
exit /b %RESULT%
