# nothing but a comment

   
